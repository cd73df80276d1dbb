# Strata: `make run` builds everything end to end on DuckDB; `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
START ?= 2024-01-01
DAYS ?= 30
ORDERS_PER_DAY ?= 1000
PYTHON_DIRS := orchestration pytests benchmarks scripts
LINT_HOME := .strata/lint
CONVENTIONS_HOME := .strata/conventions
CONVENTIONS_DBT := STRATA_HOME=$(CONVENTIONS_HOME) DBT_TARGET_PATH=$(CONVENTIONS_HOME)/target \
	DBT_LOG_PATH=$(CONVENTIONS_HOME)/logs $(BIN)/dbt --no-use-colors

.PHONY: run test check lint conventions install clean ui

$(BIN)/strata: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Strata needs Python 3.11, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/strata

run: $(BIN)/strata
	$(BIN)/strata generate --start $(START) --days $(DAYS) --orders-per-day $(ORDERS_PER_DAY)
	$(BIN)/strata build

ui: $(BIN)/strata
	$(BIN)/strata ui

# Lint and conventions first: they fail in a minute where pytest takes most of an hour.
test: check
	$(BIN)/python -m pytest

# What a pull request must pass besides the tests (docs/checks.md).
check: lint conventions

# sqlfluff's dbt templater opens the warehouse while compiling: a scratch data home keeps it
# off the real one.
lint: $(BIN)/strata
	$(BIN)/ruff check $(PYTHON_DIRS)
	$(BIN)/ruff format --check $(PYTHON_DIRS)
	mkdir -p $(LINT_HOME)
	STRATA_HOME=$(LINT_HOME) $(BIN)/sqlfluff lint --disable-progress-bar models tests

# Every model built empty (no landing data) in a fresh scratch home, so the catalog lists each
# model's real columns and types for the conventions check. The dbt unit tests run here, before
# the model each one tests: Strata's scheduled and `strata build` runs leave them out.
conventions: $(BIN)/strata
	rm -rf $(CONVENTIONS_HOME)
	$(CONVENTIONS_DBT) build --quiet --resource-type seed --resource-type model --resource-type unit_test
	$(CONVENTIONS_DBT) docs generate --quiet --no-compile
	$(BIN)/python -m orchestration.conventions $(CONVENTIONS_HOME)/target --catalog

clean:
	rm -rf .strata target logs
