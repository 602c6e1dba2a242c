# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test lint install migrate demo check-modules bench bench-growth clean chromium nginx html-checker fuzz oidc-provider

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Nabij needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/nabij migrate

demo: migrate
	$(BIN)/nabij demo

## Serve on http://127.0.0.1:8000 with demo data (created on first run).
## The background-job worker runs beside the server; Ctrl-C stops both.
run: demo
	@$(BIN)/nabij worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/nabij serve --port $(PORT)

## The whole test suite (set NABIJ_TEST_DATABASE_URL to run it on PostgreSQL).
test: $(STAMP) lint chromium nginx html-checker oidc-provider
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Browser tests use Debian's Chromium (never a downloaded browser). Installed with apt when we are root.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium with apt: the browser tests will be skipped"; \
	else echo "no /usr/bin/chromium and no way to install it here: the browser tests will be skipped"; fi

# Debian's nginx for tests/test_replicas.py (three replicas behind docs/nginx/nabij.conf). Installed with apt
# when we are root; the test starts its own nginx on loopback ports, never the system's service.
nginx:
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's nginx for the replicas test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) \
	  || echo "could not install nginx with apt: the replicas test will be skipped"; \
	else echo "no nginx and no way to install it here: the replicas test will be skipped"; fi

# The W3C Nu HTML checker (npm vnu-jar) for tests/test_html_validity.py; it runs on the machine's Java.
html-checker:
	@if command -v npm >/dev/null 2>&1; then \
	  (cd tests/html && npm ci --silent --no-audit --no-fund --ignore-scripts) \
	  || echo "npm ci in tests/html failed: the HTML validity test will be skipped"; \
	else echo "no npm on this machine: the HTML validity test will be skipped"; fi

# panva's oidc-provider (npm, OpenID Certified) as the institution's provider for tests/test_oidc*.py; on Node.js.
oidc-provider:
	@if command -v npm >/dev/null 2>&1; then \
	  (cd tests/oidc && npm ci --silent --no-audit --no-fund --ignore-scripts) \
	  || echo "npm ci in tests/oidc failed: the OIDC provider tests will be skipped"; \
	else echo "no npm on this machine: the OIDC provider tests will be skipped"; fi

## Lint and types: ruff (rules and formatting) and mypy on app/; `make test` runs this first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The fuzzers at full strength: 10,000 generated modules and 10,000 hostile requests (on the test
## database: SQLite, or PostgreSQL with NABIJ_TEST_DATABASE_URL). `make test` runs a few hundred of each.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -p no:cacheprovider -q tests/test_fuzz_modules.py tests/test_fuzz_requests.py

check-modules: $(STAMP)
	$(BIN)/nabij modules check modules

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick,)

bench-growth: $(STAMP)
	$(BIN)/python benchmarks/growth.py $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) var .pytest_cache
