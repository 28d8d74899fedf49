# Two commands for a fresh machine (Python 3.11, Node 20, apt):
#   make run    the whole platform on embedded defaults
#   make test   install what the tests need and run the whole suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The whole Python environment (server, [ml], [dev], [s3-local], the SDK), exact versions with hashes, CPU
# PyTorch included; `make lock` refreshes it. Where the CPU torch wheel does not come from pip's configured
# sources, point pip at the PyTorch CPU wheel index with TORCH_PIP_ARGS.
LOCK := requirements.lock
# CPU PyTorch, exact pin: an unpinned torch pulls a multi-GB CUDA build. The lock must hold exactly this.
TORCH_PIN := torch==2.13.0+cpu
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test bench stop clean lock system-deps web-build web-test

run: $(VENV)/.locked web-build
	$(BIN)/python -m cluster.local

test: $(VENV)/.locked system-deps web-test
	$(BIN)/python -m pytest --cov --cov-report=term --durations=15 $(PYTEST_ARGS)

# Every benchmark at its full profile (each appends its results to docs/benchmarks.md), then the ledger chaos
# test's full profile (CI runs a short one). About an hour on two cores.
bench: $(VENV)/.locked
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

# Exactly the locked set, each file checked against its hash, nothing resolved on the day, and nothing else
# (pip-sync, locked in [dev], removes what an older lock left); then this project and the SDK (sdk/, its own
# package, tested against the API) on top, built with the locked setuptools. tests/test_dependencies.py
# checks that the lock satisfies every requirement of both pyproject.toml files, extras included.
$(VENV)/.locked: $(LOCK) pyproject.toml sdk/pyproject.toml | $(BIN)/python
	@grep -q '^$(TORCH_PIN) ' $(LOCK) || { echo "$(LOCK) must pin $(TORCH_PIN) (run make lock)" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK) $(TORCH_PIP_ARGS)
	$(BIN)/pip-sync --quiet $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . -e ./sdk
	$(BIN)/python -m pip check
	touch $@

# Refresh the lock on purpose: the newest versions the pyproject.toml files allow; run `make test` on the new
# set before committing it (docs/operations.md, Dependencies).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK) $(TORCH_PIP_ARGS)
	$(BIN)/pip-compile --quiet --upgrade --all-extras --strip-extras --generate-hashes --allow-unsafe \
		--no-emit-index-url --no-emit-find-links $(if $(TORCH_PIP_ARGS),--pip-args '$(TORCH_PIP_ARGS)') \
		--output-file $(LOCK) pyproject.toml sdk/pyproject.toml
	@grep -q '^$(TORCH_PIN) ' $(LOCK) || { echo "the lock took another torch than $(TORCH_PIN): a CUDA build? \
		point TORCH_PIP_ARGS at PyTorch's CPU index" >&2; exit 1; }

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
