# One command each: `make run` sets up and runs the whole experiment, `make test` sets up and runs the tests.
VENV ?= .venv
PYTHON ?= python3
# The CPU build of PyTorch; a bare `torch` requirement would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
CORES ?= 2
BIN = $(VENV)/bin

.PHONY: setup run test test-fast lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test,workflow]"
	touch $@

run: setup
	$(BIN)/snakemake --cores $(CORES)

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup  # the unit tests, without the end-to-end runs of the workflow (marked slow)
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

clean:
	rm -rf data results logs .snakemake
