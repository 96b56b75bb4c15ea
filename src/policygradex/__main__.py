import sys

from policygradex.cli import main

sys.exit(main())
