# Two commands: `make run` (install, demo data, train, serve) and `make test` (lint + tests).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
PYTEST_ARGS ?=
# Where data and models live comes from RECOMMENDER_DATA_DIR / RECOMMENDER_MODEL_DIR or .env
# (defaults dataset/ and models/): the Makefile reads them through the same Settings as the code.

MODELS ?= als,bpr,popular,itemknn,itemknn-tfidf,itemknn-bm25,userknn,ease,rp3beta

.PHONY: help install install-dev install-spark install-neural prepare run evaluate test lint format bench clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime ## Create .venv and install the runtime dependencies

install-dev: $(VENV)/.dev ## Install the test, lint and benchmark tools too

$(VENV)/.spark: requirements-spark.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-spark.txt
	touch $@

install-spark: $(VENV)/.spark ## Install the optional Spark engine (pyspark; needs Java 17)

$(VENV)/.neural: requirements-neural.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-neural.txt
	touch $@

install-neural: $(VENV)/.neural ## Install the optional neural model's trainer (PyTorch, CPU build)

prepare: install ## Generate demo data if there is none, train a model if there is none
	$(PY) -m recommender prepare

run: prepare ## Install, make demo data and a model if missing, then serve on HOST:PORT with WORKERS processes (python main.py: uvicorn with a request-head timeout and a connection cap)
	@if [ "$(WORKERS)" -gt 1 ]; then export PROMETHEUS_MULTIPROC_DIR=$$(mktemp -d); fi; \
	exec $(PY) main.py --host $(HOST) --port $(PORT) --workers $(WORKERS)

evaluate: prepare ## Tune ALS, then evaluate every model on the demo data (reports/demo/)
	$(PY) -m recommender -q tune --data dataset --split time --budget 24 --write-env reports/demo-tuned.env
	$(PY) -m recommender -q --env-file reports/demo-tuned.env evaluate --data dataset --split time \
		--models $(MODELS) --k 5,10,20 --out reports/demo

lint: install-dev install-spark install-neural ## ruff (lint + format), mypy --strict (pyspark's and torch's types too), the layer contract
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

format: install-dev ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint ## Lint, then run every test
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install-dev ## Run the benchmarks in bench/ (installs wrk with apt if missing)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) -m bench

clean: ## Remove caches (keeps .venv, data and models)
	rm -rf .pytest_cache .mypy_cache .ruff_cache
