# The two commands a new user needs: `make demo` and `make test` (and `make bench` for the
# benchmark). Everything installs into .venv
# from the hash-pinned lock files; a lock file change reinstalls on the next run. The Node.js
# tools the tests drive (tests/node: the GraphQL-over-HTTP audit, a client, Playwright) install
# from their package-lock.json the same way, and Chromium from Debian when we are root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/node
CHROMIUM := /usr/bin/chromium
PEER_DIR := bench/peer

.PHONY: demo test bench lint typecheck schema lock clean chromium wrk

demo: $(VENV)/.runtime
	GATEWAY_AUTH__DEV_ISSUER=true $(BIN)/summary-gateway serve

test: $(VENV)/.dev $(NODE_DIR)/node_modules/.installed chromium wrk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

# The benchmark (bench/, docs/performance.md): every figure, written to bench/results/. Pass
# options through BENCH_ARGS, e.g. `make bench BENCH_ARGS="--duration 30 --memory-duration 600"`.
bench: $(VENV)/.runtime $(PEER_DIR)/node_modules/.installed wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

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

# Without npm the Node tests skip (and fail when CI=true), so a missing npm only warns here.
$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package-lock.json $(NODE_DIR)/package.json
	@if command -v npm >/dev/null; then \
		cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else \
		echo "npm not found: install Node.js 20+ to run the audit, client and browser tests"; \
	fi

# The benchmark's peer (Hive Gateway, GraphQL Mesh Compose), pinned in its package-lock.json.
# Without npm the benchmark skips the peer and says so.
$(PEER_DIR)/node_modules/.installed: $(PEER_DIR)/package-lock.json $(PEER_DIR)/package.json
	@if command -v npm >/dev/null; then \
		cd $(PEER_DIR) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else \
		echo "npm not found: install Node.js 20+ to run the benchmark's peer"; \
	fi

# wrk, the benchmark's load generator (Debian's package), when missing and we may install it;
# without it the benchmark cannot run and its smoke test skips (fails when CI=true).
wrk:
	@if ! command -v wrk >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
		else \
			echo "wrk missing: 'sudo apt-get install wrk' to run the benchmark"; \
		fi; \
	fi

# Debian's Chromium for the GraphiQL browser test: installed when missing and we may (root with
# apt-get); otherwise say how, and the test skips (or fails when CI=true).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "$(CHROMIUM) missing: 'sudo apt-get install chromium' to run the browser test"; \
		fi; \
	fi

# Regenerate the lock files after changing dependencies in pyproject.toml.
lock: $(VENV)/.dev
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --generate-hashes \
		--strip-extras -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links --generate-hashes \
		--strip-extras --extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache $(NODE_DIR)/node_modules $(PEER_DIR)/node_modules
