# egov — two commands on a fresh machine: `make run` (platform + demo data on SQLite) and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := chromium fonts-dejavu-core poppler-utils libnss3-tools xmlsec1 softhsm2 opensc apache2-utils
export EGOV_DATA_DIR ?= var
HOST ?= localhost
PORT ?= 8000

.PHONY: help setup node-deps system-deps postgres install-check run demo serve worker test test-sqlite test-postgres \
        test-browser lint typecheck imports migrations-check check bench i18n clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

# One line saying what is missing and how to get it, instead of a traceback from venv or ensurepip.
define need_python
	@command -v $(PY) >/dev/null || { echo "$(PY) is missing: install Python 3.11 (Debian 12: sudo apt-get install python3.11 python3.11-venv), or make PY=/path/to/python3.11"; exit 1; }
	@$(PY) -c "import ensurepip, venv" 2>/dev/null || { echo "$(PY) cannot make virtualenvs: run 'make system-deps' (Debian: sudo apt-get install python3.11-venv)"; exit 1; }
endef

$(BIN)/egov: pyproject.toml
	$(need_python)
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --progress-bar on --upgrade pip
	$(BIN)/pip install --progress-bar on -e ".[dev]"
	touch $@

# The English catalogue is compiled by the build (setup.py); this rule recompiles it after a .po edit.
CATALOGUE := src/egov/locale/en/LC_MESSAGES/messages
$(CATALOGUE).mo: $(CATALOGUE).po $(BIN)/egov
	$(BIN)/pybabel compile -d src/egov/locale -D messages

setup: $(BIN)/egov $(CATALOGUE).mo ## Create the virtualenv and install the pinned dependencies

UPSTREAM_IDP := tests/peers/upstream_idp
$(UPSTREAM_IDP)/node_modules/.package-lock.json: $(UPSTREAM_IDP)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing (the federation tests run a Node OpenID provider): run 'make system-deps' (Debian: sudo apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix $(UPSTREAM_IDP) --no-audit --no-fund

AXE := tests/browser/axe
$(AXE)/node_modules/.package-lock.json: $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund --loglevel=error

node-deps: $(UPSTREAM_IDP)/node_modules/.package-lock.json $(AXE)/node_modules/.package-lock.json ## The upstream OpenID provider (federation tests) and axe-core (browser tests), from npm

system-deps: ## Install the Debian packages: Chromium, poppler, NSS tools, xmlsec1, SoftHSM2, Node/npm, PostgreSQL, venv
	@command -v apt-get >/dev/null || { echo "not a Debian system: install by hand: $(APT_PACKAGES) nodejs npm postgresql python3.11-venv"; exit 1; }
	@missing=""; for p in $(APT_PACKAGES) postgresql; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	case "$$(readlink -f "$$(command -v $(PY))" 2>/dev/null)" in /usr/bin/*) \
	  dpkg -s $(notdir $(PY))-venv >/dev/null 2>&1 || missing="$$missing $(notdir $(PY))-venv";; esac; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $$missing; \
	else echo "Debian packages: all present"; fi

postgres: ## Start PostgreSQL (127.0.0.1:5432) if it is installed and stopped; say what is missing otherwise
	@command -v pg_isready >/dev/null || { echo "PostgreSQL is missing: run 'make system-deps' (Debian: sudo apt-get install postgresql)"; exit 1; }
	@if ! pg_isready -h 127.0.0.1 -p 5432 -q; then \
	  echo "starting PostgreSQL"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | sort -V | tail -1)" main start; \
	  for _ in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; \
	fi
	@admin="$${EGOV_TEST_PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}"; \
	psql "$${admin/+psycopg/}" -qAtc "select 1" >/dev/null \
	  || { echo "PostgreSQL at 127.0.0.1:5432 refuses user postgres without a password: add 'host all postgres 127.0.0.1/32 trust' to pg_hba.conf, or set EGOV_TEST_PG_ADMIN=postgresql+psycopg://USER:PASSWORD@127.0.0.1:5432/postgres (a superuser)"; exit 1; }
	@echo "PostgreSQL: ready at 127.0.0.1:5432"

INSTALL_CHECK_VENV := var/install-check
install-check: ## pip install . (no extras) into a fresh venv, then egov --help and every subcommand's --help
	$(need_python)
	rm -rf $(INSTALL_CHECK_VENV)
	$(PY) -m venv $(INSTALL_CHECK_VENV)
	$(INSTALL_CHECK_VENV)/bin/pip install --progress-bar on .
	rm -rf build  # setuptools' build tree, left in the checkout
	$(INSTALL_CHECK_VENV)/bin/python tests/tools/cli_help_walk.py
	cd $(INSTALL_CHECK_VENV) && EGOV_DATA_DIR=data bin/egov db upgrade  # migrations shipped in the wheel, away from src/

run: setup ## Set up, migrate, load demo data once, and serve on http://localhost:8000 (PORT=, HOST= to change)
	@$(BIN)/python -m egov.platform.serve $(HOST) $(PORT)
	$(BIN)/egov db upgrade
	@if [ ! -f $(EGOV_DATA_DIR)/.demo-loaded ]; then $(BIN)/egov demo load && touch $(EGOV_DATA_DIR)/.demo-loaded; \
	else $(BIN)/egov demo accounts; fi
	@echo "Open http://$(HOST):$(PORT)  (sign in with an account above)"
	EGOV_PUBLIC_URL=$${EGOV_PUBLIC_URL:-http://$(HOST):$(PORT)} $(BIN)/egov serve --host $(HOST) --port $(PORT)

worker: setup ## Run the background worker (audit sequencer and checkpoints)
	$(BIN)/egov worker

test: system-deps setup node-deps postgres ## Set up and run every check: lint, types, imports, migrations, install, tests
	@SECONDS=0; rc=0; \
	$(MAKE) --no-print-directory check && \
	$(MAKE) --no-print-directory install-check && \
	$(MAKE) --no-print-directory test-sqlite && \
	$(MAKE) --no-print-directory test-postgres || rc=$$?; \
	echo "make test: $$((SECONDS / 60)) min $$((SECONDS % 60)) s (budget: 15 min)$$([ $$rc = 0 ] || echo ", FAILED")"; \
	exit $$rc

check: lint typecheck imports migrations-check ## Static checks and alembic check on both databases

lint: setup ## ruff
	$(BIN)/ruff check src tests benchmarks

typecheck: setup ## mypy
	$(BIN)/mypy

imports: setup ## import-linter: contracts made from egov/contexts.py (boundaries, layers, kernel, cryptography)
	$(BIN)/python -m tests.tools.import_contracts

migrations-check: setup postgres ## alembic check on a fresh SQLite and a fresh PostgreSQL database
	$(BIN)/python -m tests.tools.migrations_check

test-sqlite: setup node-deps ## Tests on SQLite (the Chromium tests in a run of their own, see below)
	EGOV_TEST_DATABASE=sqlite $(BIN)/pytest -q -n 2 -m "not browser"
	# Playwright's sync API keeps an event loop running in its process for the whole session: a later
	# test there that calls asyncio.run (pyHanko's sync API does) would fail, so the browser gets its own.
	EGOV_TEST_DATABASE=sqlite $(BIN)/pytest -q -m browser

test-postgres: setup node-deps postgres ## Tests on PostgreSQL (creates and drops its own database)
	EGOV_TEST_DATABASE=postgresql $(BIN)/pytest -q -n 2 -m "not browser"

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
