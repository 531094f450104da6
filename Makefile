# The two commands: `make run` starts the service, `make test` runs the tests.
# Each creates .venv on first use and reinstalls only when pyproject.toml changed.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint install

help:
	@echo "make run    serve on http://127.0.0.1:5000 (SQLite, embedded Redis, workers; no setup needed)"
	@echo "make test   run the tests; pass pytest options with PYTEST_ARGS='-k cli -x'"
	@echo "make lint   ruff check and the import contracts (lint-imports, pyproject.toml)"
	@echo "make test-fast  the inner loop: the tests without a browser, processes or servers (marks browser, slow)"

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/unstract serve

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -x -m "not browser and not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; try: make PYTHON=python3.12 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip  # the resolver bundled with older Pythons gives up on s3fs

# editable_mode=compat puts the checkout on sys.path, so our regular `unstract` package is found before the
# namespace portion that unstract-client installs (unstract.api_deployments); unstract/__init__.py adds that portion.
$(STAMP): pyproject.toml Makefile | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --disable-pip-version-check --config-settings editable_mode=compat -e '.[dev]'
	touch $(STAMP)
