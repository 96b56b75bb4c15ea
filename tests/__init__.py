"""The test suite, a package so that its helpers import the same way from any working directory."""
