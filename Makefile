# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CONFIG ?= feeds.yaml
OUTPUT ?= output
ARGS ?=

.PHONY: run run-index test test-install lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/archiver run --config $(CONFIG) --output $(OUTPUT) $(ARGS)

run-index: $(STAMP)
	$(BIN)/archiver index --config $(CONFIG) --output $(OUTPUT)

test: $(STAMP)
	$(BIN)/python -m pytest

# `pip install .` with pyproject.toml's ranges, no extras and no lock, into a new virtual
# environment, then each feature once through its `archiver` command (CI runs it).
test-install: $(STAMP)
	$(BIN)/python -m pytest -m install

bench: $(STAMP)
	$(BIN)/python bench/bench.py

lint: $(STAMP)
	$(BIN)/ruff check archiver tests bench
	$(BIN)/ruff format --check archiver tests bench
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

format: $(STAMP)
	$(BIN)/ruff check --fix archiver tests bench
	$(BIN)/ruff format archiver tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
