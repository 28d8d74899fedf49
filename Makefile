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

.PHONY: run test stop clean

run: $(VENV)/.run-deps
	$(BIN)/python -m cluster.local

test: $(VENV)/.test-deps
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

# Stops what `make run` started, and nothing else.
stop:
	@if [ -f .data/run.pid ]; then kill -TERM $$(cat .data/run.pid) 2>/dev/null && echo "stopping"; else echo "not running"; fi

clean:
	rm -rf $(VENV) .pytest_cache .coverage htmlcov

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[s3-local]'
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_PIN) $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install --quiet -e '.[ml,dev]'
	touch $@ $(VENV)/.run-deps
