# regie-tui: everyday commands. `make demo` to try the app, `make test` to check it.
SHELL := /bin/bash
.DEFAULT_GOAL := demo

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := data/demo.db
DEMO_BUILD := data/demo-build.db
PYTEST_ARGS ?=
PYTEST_WORKERS ?= auto

.PHONY: demo test lint bench clean install

# The virtual environment, created once.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The project and its test tools, reinstalled only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

install: $(STAMP)

# The demo town, built once (into a side file, so that a failed build leaves no half database).
$(DEMO_DB): | $(STAMP)
	rm -f $(DEMO_BUILD) $(DEMO_BUILD)-wal $(DEMO_BUILD)-shm $@-wal $@-shm
	$(BIN)/regie db upgrade --db sqlite:///$(DEMO_BUILD)
	$(BIN)/regie seed --db sqlite:///$(DEMO_BUILD)
	for ext in -wal -shm ''; do [ ! -e $(DEMO_BUILD)$$ext ] || mv $(DEMO_BUILD)$$ext $@$$ext; done
	mv data/demo-build-portail-famille.jsonl data/demo-portail-famille.jsonl  # the portal file the seed imported

# An existing demo database is brought to the current schema first (a no-op when it is).
demo: $(STAMP) $(DEMO_DB)
	$(BIN)/regie db upgrade --db sqlite:///$(DEMO_DB)
	$(BIN)/regie --db sqlite:///$(DEMO_DB)

# The gates first (style, types), then the whole suite, one pytest-xdist worker per core
# (PYTEST_WORKERS=0: in one process). PostgreSQL must start, or REGIE_SKIP_POSTGRES=1 says to skip it.
test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Each benchmark script prints its figures; benchmarks/_*.py are their shared helpers.
bench: $(STAMP)
	@set -e; for script in benchmarks/*.py; do \
		case "$$(basename "$$script")" in _*) continue ;; esac; \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; \
		$(BIN)/python "$$script"; \
	done

clean:
	rm -rf $(VENV) data/*.db data/*.db-wal data/*.db-shm benchmarks/out
