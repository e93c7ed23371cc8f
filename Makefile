# The two commands: `make run` brings the whole system up, `make test` installs and tests.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test worker api clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,dev]"
	touch $@

run: install  ## Temporal dev server + Web UI, embedded PostgreSQL, migrations, worker, API
	$(BIN)/python -m scripts.run_stack

test: install  ## the layers (import-linter contracts in pyproject.toml), then every test
	$(BIN)/lint-imports
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

worker: install  ## the worker alone, against TEMPORAL_ADDRESS and COMPLAINTS_DATABASE_URL
	$(BIN)/python worker.py

api: install  ## the API alone
	$(BIN)/uvicorn api.main:app --host 0.0.0.0 --port 8000

clean:
	rm -rf $(VENV) .data
