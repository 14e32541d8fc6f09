# Every target creates (or reuses) the local virtualenv .venv first, so each
# works on a fresh machine. Settings live in pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The package alone (what the demo needs), and everything for development.
PACKAGE := $(VENV)/.package
# The modules setup.py compiles with mypyc (its COMPILED): a change rebuilds.
COMPILED := caching/_item_size.py caching/_reads.py caching/_memory_core.py \
	caching/_replies.py caching/_method_binding.py
STAMP := $(VENV)/.installed

.PHONY: venv test lint bench demo servers clean

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PACKAGE): pyproject.toml setup.py $(COMPILED) | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $(PACKAGE)

$(STAMP): pyproject.toml setup.py $(COMPILED) | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade "pip>=25.1"
	$(BIN)/python -m pip install -q -e ".[all]" --group dev
	touch $(STAMP) $(PACKAGE)

servers:
	scripts/install-servers

test: venv servers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/python -m ruff check
	$(BIN)/python -m ruff format --check
	$(BIN)/python -m mypy --strict

bench: venv servers
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

demo: $(PACKAGE)
	$(BIN)/python -m caching demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build caching/*.so *__mypyc*.so
