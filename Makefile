# The two commands: `make run` brings the whole system up, `make test` installs and tests.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install system-deps run test worker api clean

# Debian packages the tests use: Chromium and a CJK font (browser tests; Playwright never
# downloads a browser), docker-compose (the compose file check), nginx-light (the TLS-terminating
# proxy of tests/test_tls.py), prometheus (its promtool checks deploy/prometheus in
# tests/deploy/test_monitoring.py). Checked with dpkg-query; installed with apt-get when missing and
# we are root (INSTALL_SYSTEM_DEPS=no forbids it); otherwise the one command to run is printed.
SYSTEM_PACKAGES := chromium fonts-wqy-zenhei docker-compose nginx-light prometheus
INSTALL_SYSTEM_DEPS ?= yes

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,dev]"
	touch $@

run: install  ## Temporal dev server + Web UI, embedded PostgreSQL, migrations, worker, API
	$(BIN)/python -m scripts.run_stack

system-deps:  ## the Debian packages of SYSTEM_PACKAGES: installed if missing (as root), else stop
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && [ "$(INSTALL_SYSTEM_DEPS)" = yes ]; then \
	    echo "installing Debian packages:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq $$missing >/dev/null 2>&1 \
	        || { apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; } \
	        || { echo "apt-get could not install:$$missing" >&2; exit 1; }; \
	else \
	    echo "missing Debian packages:$$missing; run this, then make test again:" >&2; \
	    echo "    sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
	    exit 1; \
	fi

test: system-deps install  ## the layers (import-linter contracts in pyproject.toml), then every test
	$(BIN)/lint-imports
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

worker: install  ## the worker alone, against TEMPORAL_ADDRESS and COMPLAINTS_DATABASE_URL
	$(BIN)/python worker.py

api: install  ## the API alone
	$(BIN)/uvicorn api.main:app --host 0.0.0.0 --port 8000

clean:
	rm -rf $(VENV) .data
