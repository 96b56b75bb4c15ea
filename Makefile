# Two commands set everything up on a fresh machine (Debian, Python 3.11):
#   make demo   # the whole PolicyGradEx workflow on the embedded pointmass benchmark
#   make test   # the test suite (what CI runs, via .ci/run)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
BENCHMARK ?= pointmass
# Snakemake finds workflow/Snakefile and loads workflow/profiles/default by itself; the jobs run the package with
# the venv's interpreter (the one running Snakemake), so the venv need not be activated.
SNAKEMAKE := $(BIN)/snakemake --cores $(CORES)

.PHONY: venv demo evidence test test-slurm test-slow lint clean

# The venv is (re)built when pyproject.toml changes. torch is installed first, pinned, so pip takes the
# CPU wheel and never a CUDA build.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

# The files to build come from the package (`policygradex targets`), which the Snakefile's `rule all` reads too.
TARGETS := $(BIN)/python -m policygradex targets $(BENCHMARK)

demo: venv
	targets="$$($(TARGETS))" && $(SNAKEMAKE) $$targets && $(SNAKEMAKE) $$targets --report results/$(BENCHMARK)/report.zip
	@echo "Open results/$(BENCHMARK)/report.html: the verdict, groups, affinity, evaluation and training curves on one page."
	@echo "(results/$(BENCHMARK)/report.zip is Snakemake's record of the run: every file, rule and runtime.)"

# The evidence for the method's claims: first-order error, speedup over full training, grouping quality
# against baselines (full_training.num_subsets subsets are really fine-tuned: about 30-45 minutes on 2 cores for
# pointmass).
evidence: venv
	targets="$$($(TARGETS) --evidence)" && $(SNAKEMAKE) $$targets && $(SNAKEMAKE) $$targets --report results/$(BENCHMARK)/report.zip

# The suite starts with the lint (what CI runs through .ci/run): style and Snakemake's own checks fail fast.
test: venv lint
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest

# The SLURM integration test: a real single-node cluster on 127.0.0.1 (.ci/slurm/local-cluster.sh, Debian's
# packages); about 5 minutes, most of it the executor plugin's status polling. CI runs it after `make test`.
test-slurm: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -m slurm

test-slow: venv
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -m slow

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/snakefmt --check workflow
	$(SNAKEMAKE) --lint

clean:
	rm -rf results logs .snakemake
