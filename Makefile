# egov — two commands on a fresh machine: `make run` (platform + demo data on SQLite) and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := chromium fonts-dejavu-core poppler-utils libnss3-tools xmlsec1 softhsm2 opensc apache2-utils
export EGOV_DATA_DIR ?= var
HOST ?= localhost
PORT ?= 8000

.PHONY: help setup node-deps system-deps run demo serve worker test test-sqlite test-postgres test-browser lint typecheck \
        imports migrations-check check bench i18n clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(BIN)/egov: pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

# The English catalogue is compiled by the build (setup.py); this rule recompiles it after a .po edit.
CATALOGUE := src/egov/locale/en/LC_MESSAGES/messages
$(CATALOGUE).mo: $(CATALOGUE).po $(BIN)/egov
	$(BIN)/pybabel compile -d src/egov/locale -D messages

setup: $(BIN)/egov $(CATALOGUE).mo ## Create the virtualenv and install the pinned dependencies

UPSTREAM_IDP := tests/peers/upstream_idp
$(UPSTREAM_IDP)/node_modules/.package-lock.json: $(UPSTREAM_IDP)/package-lock.json
	npm ci --prefix $(UPSTREAM_IDP) --no-audit --no-fund --loglevel=error

AXE := tests/browser/axe
$(AXE)/node_modules/.package-lock.json: $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund --loglevel=error

node-deps: $(UPSTREAM_IDP)/node_modules/.package-lock.json $(AXE)/node_modules/.package-lock.json ## The upstream OpenID provider (federation tests) and axe-core (browser tests), from npm

system-deps: ## Install the Debian packages the tests need (Chromium, poppler, NSS tools, xmlsec1, SoftHSM2)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: setup ## Set up, migrate, load demo data once, and serve on http://localhost:8000
	$(BIN)/egov db upgrade
	@if [ ! -f $(EGOV_DATA_DIR)/.demo-loaded ]; then $(BIN)/egov demo load && touch $(EGOV_DATA_DIR)/.demo-loaded; fi
	@echo "Open http://$(HOST):$(PORT)  (demo sign-in: see README)"
	$(BIN)/egov serve --host 127.0.0.1 --port $(PORT)

worker: setup ## Run the background worker (audit sequencer and checkpoints)
	$(BIN)/egov worker

test: setup system-deps node-deps ## Set up and run every check: lint, types, imports, migrations, tests on SQLite and PostgreSQL
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

check: lint typecheck imports migrations-check ## Static checks and alembic check on both databases

lint: setup ## ruff
	$(BIN)/ruff check src tests benchmarks

typecheck: setup ## mypy
	$(BIN)/mypy

imports: setup ## import-linter: context boundaries, kernel independence, who may touch hazmat
	$(BIN)/lint-imports

migrations-check: setup ## alembic check on a fresh SQLite and a fresh PostgreSQL database
	$(BIN)/python -m tests.tools.migrations_check

test-sqlite: setup node-deps ## Tests on SQLite (the Chromium tests in a run of their own, see below)
	EGOV_TEST_DATABASE=sqlite $(BIN)/pytest -q -n 2 -m "not slow and not browser"
	# Playwright's sync API keeps an event loop running in its process for the whole session: a later
	# test there that calls asyncio.run (pyHanko's sync API does) would fail, so the browser gets its own.
	EGOV_TEST_DATABASE=sqlite $(BIN)/pytest -q -m "browser and not slow"

test-postgres: setup node-deps ## Tests on PostgreSQL (creates and drops its own database)
	EGOV_TEST_DATABASE=postgresql $(BIN)/pytest -q -n 2 -m "not slow and not browser"

test-browser: setup system-deps node-deps ## Only the Chromium tests
	$(BIN)/pytest -q -m browser

bench: setup ## Benchmarks (PostgreSQL, minutes): results in benchmarks/results/
	$(BIN)/python benchmarks/run_all.py

i18n: setup ## Extract strings and update the English catalogue
	$(BIN)/pybabel extract -F babel.cfg -o var/messages.pot src
	$(BIN)/pybabel update -i var/messages.pot -d src/egov/locale -l en --no-fuzzy-matching
	$(BIN)/pybabel compile -d src/egov/locale -D messages

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var
