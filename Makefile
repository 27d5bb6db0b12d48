# Two commands matter: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint sdk-deps browser-deps chromium web-deps web bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## make run: a fresh clone → a running server (embedded PostgreSQL unless DATABASE_URL is set) with demo data
run: install
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory web; \
	 else echo "npm not found: serving the API without the web app (install Node 20+ to build web/)"; fi
	$(BIN)/crm serve --demo

tests/sdk/node_modules/.package-lock.json: tests/sdk/package.json tests/sdk/package-lock.json
	cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error

sdk-deps: tests/sdk/node_modules/.package-lock.json

tests/browser/node_modules/.package-lock.json: tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error

tests/dashboard/node_modules/.package-lock.json: tests/dashboard/package.json tests/dashboard/package-lock.json
	cd tests/dashboard && npm ci --no-audit --no-fund --loglevel=error

## Debian's chromium for every browser test (playwright-core drives it; never a downloaded browser)
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## the browser tests: reference pages (tests/browser) and Parse Dashboard (tests/dashboard); web/e2e uses web's own
browser-deps: tests/browser/node_modules/.package-lock.json tests/dashboard/node_modules/.package-lock.json chromium

# The web app (web/): packages from its lock file, then a build (into the package: src/parsecrm/web/dist) whenever
# a source changed.
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

web-deps: web/node_modules/.package-lock.json

# Two builds into one folder: the app (index.html), then the GraphQL playground (graphiql.html, GraphiQL), which is
# kept out of the app's build so the app's JavaScript and its offline file list stay the same without it.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/graphiql.html \
	web/vite.config.ts web/vite.graphiql.config.ts web/native-builtins.ts web/offline-assets.ts web/tsconfig.app.json

src/parsecrm/web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npx vite build --logLevel warn && npx vite build -c vite.graphiql.config.ts --logLevel warn

web: src/parsecrm/web/dist/index.html

## make lint: ruff (lint everywhere, formatting of src/), the type checker (mypy --strict on src/, pyproject.toml)
## and vue-tsc on the web app
lint: install web-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src
	$(BIN)/mypy
	cd web && npx vue-tsc --build

## make test: installs what the tests need, then runs them all (pytest starts real servers on a real PostgreSQL)
test: install sdk-deps browser-deps web lint
	$(BIN)/pytest

## make bench [PEER=parse-server] [SCALE=1] [BENCH_ARGS="--duration 5 ..."]: benchmarks (see docs/performance.md)
bench: install
	$(BIN)/crm bench $(if $(PEER),--peer $(PEER)) $(if $(SCALE),--scale $(SCALE)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) tests/sdk/node_modules tests/browser/node_modules tests/dashboard/node_modules web/node_modules \
		src/parsecrm/web/dist
