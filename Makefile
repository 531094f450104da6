# The two commands: `make run` starts the service, `make test` runs the tests.
# Each creates .venv on first use and reinstalls only when pyproject.toml (or this file) changed.
# `make run` installs the runtime dependencies only; `make test`, `make test-fast` and `make lint` add the
# dev and test tools (pytest, ruff, Playwright, moto, ...). One stamp per install kind, so `make test` after
# `make run` still adds the dev extras, and `make run` after `make test` installs nothing.
PYTHON ?= python3
VENV ?= .venv
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(VENV)/bin/python -m pip install --quiet --disable-pip-version-check
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint install install-dev

help:
	@echo "make run    serve on http://127.0.0.1:5000 (SQLite, embedded Redis, workers; no setup needed)"
	@echo "            another port: make run PORT=8080; stop it with Ctrl-C"
	@echo "make test   run the tests; pass pytest options with PYTEST_ARGS='-k cli -x'"
	@echo "make lint   ruff check and the import contracts (lint-imports, pyproject.toml)"
	@echo "make test-fast  the inner loop: the tests without a browser, processes or servers (marks browser, slow)"

install: $(RUN_STAMP)

install-dev: $(DEV_STAMP)

run: $(RUN_STAMP)
	@$(VENV)/bin/unstract serve

test: $(DEV_STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: $(DEV_STAMP)
	$(VENV)/bin/pytest -q -x -m "not browser and not slow" $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; try: make PYTHON=python3.12 ..." >&2; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) --upgrade pip  # the resolver bundled with older Pythons gives up on s3fs

# editable_mode=compat puts the checkout on sys.path, so our regular `unstract` package is found before the
# namespace portion that unstract-client installs (unstract.api_deployments); unstract/__init__.py adds that portion.
$(RUN_STAMP): pyproject.toml Makefile | $(VENV)/bin/python
	@echo "Installing the runtime dependencies into $(VENV) (only when pyproject.toml changed)"
	@$(PIP) --config-settings editable_mode=compat -e .
	@touch $@

# The dev install includes the runtime one, so it renews both stamps.
$(DEV_STAMP): pyproject.toml Makefile | $(VENV)/bin/python
	@echo "Installing the runtime, dev and test dependencies into $(VENV) (only when pyproject.toml changed)"
	@$(PIP) --config-settings editable_mode=compat -e '.[dev]'
	@touch $@ $(RUN_STAMP)
