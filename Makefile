# newsbot: `make run` starts the bot (or the terminal chat), `make test` runs every check.
# Each target installs what it needs into .venv first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned: pip on this kind of machine takes a local CPU build for exactly this version;
# any other version pulls a multi-GB CUDA build.
TORCH := torch==2.13.0

export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-test run index chat test lint eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

index: install
	$(BIN)/newsbot index

## run: build or update the index, then start the Telegram bot if a token is configured
## (TELEGRAM_BOT_TOKEN in .env or the environment), else the terminal chat. One process
## (`newsbot start` updates the index itself), so the models are loaded once.
run: install
	$(BIN)/newsbot start

chat: install
	$(BIN)/newsbot chat

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## test: lint, types and the test suite (real model, real FAISS, real HTTP on loopback).
test: lint
	$(BIN)/pytest -q

## eval: the full development evaluation (seed questions and xquad-dev en, ru, ru->en).
eval: install-test
	$(BIN)/python -m eval.run_eval

## bench: speed and memory benchmarks against plain sentence-transformers + FAISS.
bench: install-test
	$(BIN)/python -m bench.run_bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
