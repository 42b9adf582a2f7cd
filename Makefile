# Live Flows — two commands do everything: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app webapp
HTMX := static/vendor/htmx.min.js

.PHONY: run test lint format bench install assets db demo chromium serve clean

## Set up, migrate, load the demo and serve on http://127.0.0.1:5000
run: install assets db demo serve

## Install what the tests need and run the whole suite (browser tests included)
test: install assets chromium lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check webapp tests
	$(BIN)/ruff format --check webapp tests
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix webapp tests
	$(BIN)/ruff format webapp tests

bench: install db
	$(BIN)/python -m benchmarks

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

assets: $(HTMX)

$(HTMX): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

db: install
	$(FLASK) db upgrade

demo: install
	$(FLASK) demo

# The app serves with the runner's consumer in-process (no other service); set FLASK_RUNNER_EMBEDDED=false
# when separate `flask --app webapp worker` processes run instead.
serve: export FLASK_RUNNER_EMBEDDED ?= true
# The offline echo model answers after 1.5 s, so the demo's sessions visibly move through their steps.
serve: export FLASK_MODEL_ECHO_DELAY_MS ?= 1500
# Unless FLASK_OIDC_ISSUER names a real provider, a development OpenID provider runs beside the app
# (127.0.0.1:$(DEV_IDP_PORT)). `make run PORT=5010 DEV_IDP_PORT=5011` when 5000/5001 are taken.
serve: export DEV_IDP_PORT ?= 5001
serve:
	$(BIN)/python -m webapp.devidp -- $(FLASK) run --host 127.0.0.1 --port $(or $(PORT),5000)

clean:
	rm -rf $(VENV) node_modules static/vendor instance/liveflows.db* instance/runner-queue.db*
