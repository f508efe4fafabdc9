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

.PHONY: venv synth test golden docs lint validate check fmt clean tools e2e

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

# The real engine's binaries (etcd, Kubernetes control plane, KWOK, Pulumi CLI, Python language host, Kubernetes
# provider) from the pinned Go modules under tools/, into .tools/bin (git-ignored); see tools/README.md.
tools:
	bash tools/build.sh

# `pulumi preview/up/refresh/destroy` for real against a local API server, per existing-cluster stack; writes
# out/e2e/summary.json and exits non-zero if any step failed (tests/e2e/run.py). Not part of `make test`.
e2e: $(STAMP) tools
	$(BIN)/python -m tests.e2e

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
