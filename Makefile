# Huike — every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/huike_test
WEB_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)

.PHONY: help run test test-pg test-fast check lint fmt types web openapi client-check alembic-check \
        migration services system-deps clean

help: ## List the commands
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.stamp: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

web/node_modules/.stamp: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web/dist/index.html: web/node_modules/.stamp $(WEB_SOURCES)
	cd web && npm run build

web: web/dist/index.html ## Build the console (web/dist)

run: $(VENV)/.stamp web ## Start Huike (embedded: API, console, jobs, SQLite) at http://127.0.0.1:8000
	$(BIN)/huike run

system-deps: ## Install Debian's chromium and CJK fonts for the browser tests when missing
	@if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
		echo "installing chromium and fonts-wqy-microhei"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

services: ## Start PostgreSQL and Redis on this machine when they are down
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 \
		--port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
		echo "PostgreSQL or Redis did not come up"; exit 1

test: $(VENV)/.stamp web system-deps services ## Run the whole suite (SQLite; browser tests included)
	$(BIN)/pytest

test-pg: $(VENV)/.stamp web system-deps services ## Run the whole suite on PostgreSQL (the browser tests' server gets <db>_e2e)
	HUIKE_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest

lint: $(VENV)/.stamp ## Lint (ruff) and check formatting
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

fmt: $(VENV)/.stamp ## Format and fix what ruff can
	$(BIN)/ruff format src tests bench migrations
	$(BIN)/ruff check --fix src tests bench migrations

types: $(VENV)/.stamp ## Type-check (mypy strict)
	$(BIN)/mypy

check: lint types test ## Lint, types and the whole suite

openapi: $(VENV)/.stamp web/node_modules/.stamp ## Regenerate web/openapi.json and the typed console client
	$(BIN)/huike openapi --output web/openapi.json
	cd web && npm run --silent gen:api

client-check: openapi ## Fail when the committed OpenAPI document or console client is stale
	@git diff --exit-code -- web/openapi.json web/src/api/schema.d.ts || \
		(echo "the console client is stale: run 'make openapi' and commit the result"; exit 1)

alembic-check: $(VENV)/.stamp services ## Migrate a fresh PostgreSQL database and check models match migrations
	psql -q -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS huike_alembic WITH (FORCE)' -c 'CREATE DATABASE huike_alembic'
	HUIKE_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/huike_alembic $(BIN)/huike migrate
	HUIKE_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/huike_alembic $(BIN)/alembic check

migration: $(VENV)/.stamp ## New migration from model changes: make migration m="what changed"
	$(BIN)/alembic revision --autogenerate -m "$(m)"

clean: ## Remove the virtualenv, node_modules, builds and the embedded database
	rm -rf $(VENV) web/node_modules web/dist var
