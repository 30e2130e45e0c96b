# Two commands set everything up on a fresh machine: `make run` and `make test`.
#
# Both install the exact versions, with their hashes, of the lock files that `make lock` makes
# from pyproject.toml's ranges: a run today installs what yesterday's tests passed with.
# `make run` installs what a user gets (the runtime dependencies, archiver as a regular
# package); `make test` and `make lint` add the development tools and install archiver
# editable, so that tests see the working tree. Each replaces the other's install of archiver,
# so each removes the other's stamp.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
# A regular install is a copy: edits to the code must install it again.
SOURCES := $(shell find archiver -name '*.py')

CONFIG ?= feeds.yaml
OUTPUT ?= output
ARGS ?=

.PHONY: run run-index test test-install lint format bench lock upgrade clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml requirements.lock $(SOURCES) | $(BIN)/python
	$(PIP) install --require-hashes --requirement requirements.lock
	$(PIP) install --no-deps .
	rm -f $(DEV_STAMP)
	touch $@

$(DEV_STAMP): pyproject.toml requirements-dev.lock | $(BIN)/python
	$(PIP) install --require-hashes --requirement requirements-dev.lock
	@# setuptools warns at each editable install that a folder named like the package may
	@# shadow it: here that folder is the package.
	PYTHONWARNINGS='ignore:Editable installation' $(PIP) install --no-deps --editable .
	rm -f $(RUNTIME_STAMP)
	touch $@

run: $(RUNTIME_STAMP)
	$(BIN)/archiver run --config $(CONFIG) --output $(OUTPUT) $(ARGS)

run-index: $(RUNTIME_STAMP)
	$(BIN)/archiver index --config $(CONFIG) --output $(OUTPUT)

test: $(DEV_STAMP)
	$(BIN)/python -m pytest

# `pip install .` with pyproject.toml's ranges, no extras and no lock, into a new virtual
# environment, then each feature once through its `archiver` command (CI runs it).
test-install: $(DEV_STAMP)
	$(BIN)/python -m pytest -m install

bench: $(DEV_STAMP)
	$(BIN)/python bench/bench.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check archiver tests bench
	$(BIN)/ruff format --check archiver tests bench
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix archiver tests bench
	$(BIN)/ruff format archiver tests bench

# uv resolves once for every Python and platform that pyproject.toml allows (--universal,
# from the oldest Python its requires-python names); the development lock is constrained to
# the runtime one, so both install the same versions.
# `make lock` keeps the pinned versions that still fit pyproject.toml; `make upgrade` takes
# the newest that do.
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.10 \
	--generate-hashes --custom-compile-command 'make lock' $(UV_ARGS)
lock: | $(BIN)/python
	$(PIP) install 'uv>=0.5'
	$(UV_COMPILE) pyproject.toml --output-file requirements.lock
	$(UV_COMPILE) pyproject.toml --extra dev --constraints requirements.lock \
		--output-file requirements-dev.lock

upgrade:
	$(MAKE) lock UV_ARGS=--upgrade

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
