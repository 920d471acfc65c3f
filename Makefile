# The two commands a new user needs: `make demo` and `make test`. Everything installs into .venv
# from the hash-pinned lock files; a lock file change reinstalls on the next run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck schema lock clean

demo: $(VENV)/.runtime
	GATEWAY_AUTH__DEV_ISSUER=true $(BIN)/summary-gateway serve

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

schema: $(VENV)/.runtime
	$(BIN)/summary-gateway export-schema schema.graphql

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.runtime

# Regenerate the lock files after changing dependencies in pyproject.toml.
lock: $(VENV)/.dev
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --generate-hashes \
		--strip-extras -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --generate-hashes \
		--strip-extras --extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
