# Every target bootstraps .venv itself from the hashed lock files (re-installs only when a lock or pyproject changes).
#   make venv  - runtime only (requirements/runtime.lock): what `pulumi up` runs (Pulumi.yaml: virtualenv .venv)
#   make dev   - runtime + dev tools (requirements/dev.lock): tests, lint, types; every check target depends on it
#   make lock  - re-resolve both locks from pyproject.toml (uv pip compile --universal --generate-hashes)
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP   := $(VENV)/.installed-dev
STACK   ?= dev
STACKS  := dev aws-h100 ncp-ib
UPSTREAM ?= $(abspath ../shared/upstream)
PIP     := $(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps
EDITABLE := $(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
	--config-settings editable_mode=compat -e .
export PYTHONPATH := $(CURDIR)
export INFERENCE_RA_CRD_DIR ?= $(UPSTREAM)/crds
export INFERENCE_RA_CHART_VALUES_DIR ?= $(UPSTREAM)/chart-values
export INFERENCE_RA_CHARTS_DIR ?= $(UPSTREAM)/charts

.PHONY: venv dev lock synth test fuzz golden docs lint validate check fmt clean tools e2e

venv: $(RUNTIME_STAMP)
dev: $(STAMP)

$(VENV)/bin/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY)"; exit 1; }
	@echo "==> creating $(VENV) with $(PY)"
	$(PY) -m venv $(VENV)

$(RUNTIME_STAMP): requirements/runtime.lock pyproject.toml | $(VENV)/bin/python
	@echo "==> installing the runtime dependencies (requirements/runtime.lock, hashes checked; first run ~1-2 min)"
	$(PIP) -r requirements/runtime.lock
	$(EDITABLE)
	@touch $@

$(STAMP): requirements/dev.lock pyproject.toml | $(VENV)/bin/python
	@echo "==> installing runtime + dev dependencies (requirements/dev.lock, hashes checked; first run ~2-3 min)"
	$(PIP) -r requirements/dev.lock
	$(EDITABLE)
	@touch $@ $(RUNTIME_STAMP)

# checkov in its own virtualenv (requirements/checkov.in says why); tests find it at $(CHECKOV).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export INFERENCE_RA_CHECKOV ?= $(CURDIR)/$(CHECKOV_VENV)/bin/checkov

$(CHECKOV_STAMP): requirements/checkov.lock
	@echo "==> installing checkov into $(CHECKOV_VENV) (requirements/checkov.lock, hashes checked)"
	@test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps \
		-r requirements/checkov.lock
	@touch $@

lock: $(STAMP)
	@echo "==> resolving requirements/runtime.lock, requirements/dev.lock and requirements/checkov.lock"
	$(BIN)/uv pip compile requirements/checkov.in --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" -q -o requirements/checkov.lock
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" -q -o requirements/runtime.lock
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" -q -o requirements/dev.lock

synth: $(RUNTIME_STAMP)
	$(BIN)/inference-ra synth $(STACK)

validate: $(RUNTIME_STAMP)
	@for s in $(STACKS); do $(BIN)/inference-ra validate $$s || exit 1; done

check: $(RUNTIME_STAMP)
	@for s in $(STACKS); do $(BIN)/inference-ra check $$s || exit 1; done

test: $(STAMP) $(CHECKOV_STAMP) lint
	$(BIN)/python -m pytest

# A long hypothesis campaign over mutated stack files and tampered plans (tests/fuzz; FUZZ_EXAMPLES=N to resize).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -q --hypothesis-show-statistics

golden: $(RUNTIME_STAMP)
	$(BIN)/python -m stacks.golden $(STACKS)

docs: $(RUNTIME_STAMP)
	$(BIN)/python -m stacks.docgen
	$(BIN)/inference-ra schema --stack-file > stacks/stack-file.schema.json

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
# out/e2e/summary.json and exits non-zero if any step failed (tests/e2e/run.py). Then dev as three layer stacks
# (infra, platform, serving: docs/layers.md; tests/e2e/layers.py, out/e2e-layers/summary.json). Not part of
# `make test`.
e2e: $(STAMP) tools
	$(BIN)/python -m tests.e2e
	$(BIN)/python -m tests.e2e.layers

clean:
	rm -rf out .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis $(CHECKOV_VENV)
