# Every target bootstraps .venv itself (idempotent: re-installs only when pyproject.toml changes).
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
STACK   ?= dev
STACKS  := dev aws-h100 ncp-ib
UPSTREAM ?= $(abspath ../shared/upstream)
export PYTHONPATH := $(CURDIR)
export INFERENCE_RA_CRD_DIR ?= $(UPSTREAM)/crds
export INFERENCE_RA_CHART_VALUES_DIR ?= $(UPSTREAM)/chart-values
export INFERENCE_RA_CHARTS_DIR ?= $(UPSTREAM)/charts

.PHONY: venv synth test golden docs lint validate check fmt clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip setuptools wheel
	$(BIN)/pip install -q --disable-pip-version-check --config-settings editable_mode=compat -e '.[dev]'
	@touch $(STAMP)

synth: $(STAMP)
	$(BIN)/inference-ra synth $(STACK)

validate: $(STAMP)
	@for s in $(STACKS); do $(BIN)/inference-ra validate $$s || exit 1; done

check: $(STAMP)
	@for s in $(STACKS); do $(BIN)/inference-ra check $$s || exit 1; done

test: $(STAMP) lint
	$(BIN)/python -m pytest

golden: $(STAMP)
	$(BIN)/python -m stacks.golden $(STACKS)

docs: $(STAMP)
	$(BIN)/python -m stacks.docgen

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(wildcard components stacks gpu_nodepools networking storage serving policies bench)

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf out .cache .pytest_cache .mypy_cache .ruff_cache
