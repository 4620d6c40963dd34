# Two commands for a fresh machine: `make run` and `make test`.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
BIN := $(VENV)/bin
# The first interpreter that is really Python 3.12 or newer. pyenv shims for
# versions that are not selected exist but fail, so each candidate is run, not
# just looked up; .python-version makes pyenv pick 3.13 here.
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		command -v $$p; break; fi; done)

.PHONY: help run test lint venv messages catalogues clean

help:
	@echo "make run   - set up and serve the embedded demo at http://127.0.0.1:8000"
	@echo "make test  - set up and run the whole suite (lint, types, templates, tests)"
	@echo "make lint  - ruff, mypy and djlint only"
	@echo "make catalogues - refresh every language's message catalogue after changing strings"

$(BIN)/raidwatch: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "raidwatch needs Python 3.12 or newer, and none was found."; \
		echo "Install python3.13 (Debian/Ubuntu: apt-get install python3.13 python3.13-venv;"; \
		echo "macOS: brew install python@3.13; or pyenv install 3.13), then run make again."; \
		exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON)"
	"$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(BIN)/raidwatch

venv: $(BIN)/raidwatch

messages: venv
	@if ! ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then :; \
	elif command -v msgfmt >/dev/null 2>&1; then $(BIN)/raidwatch compilemessages --ignore=.venv -v 0; \
	else echo "gettext's msgfmt is missing: translations stay uncompiled (apt-get install gettext)"; fi

# After changing any user-facing string: refresh every language's catalogue.
catalogues: venv
	$(BIN)/raidwatch catalogues update

run: venv messages
	$(BIN)/raidwatch migrate --no-input -v 0
	$(BIN)/raidwatch demo
	$(BIN)/raidwatch serve --host 127.0.0.1 --port 8000

lint: venv
	$(BIN)/ruff format --check raidwatch bench
	$(BIN)/ruff check raidwatch bench
	$(BIN)/mypy raidwatch bench
	$(BIN)/djlint --lint templates raidwatch

test: venv messages lint
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
