# Strata: `make run` builds everything end to end on DuckDB; `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
START ?= 2024-01-01
DAYS ?= 30
ORDERS_PER_DAY ?= 1000

.PHONY: run test lint install clean ui

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

test: $(BIN)/strata
	$(BIN)/python -m pytest

lint: $(BIN)/strata
	$(BIN)/ruff check orchestration pytests benchmarks
	$(BIN)/ruff format --check orchestration pytests benchmarks

clean:
	rm -rf .strata target logs
