"""Shared fixtures: synthesized plans of the shipped stacks (cached per session) and spec builders.

The project's modules are imported inside the helpers, not at the top: the node suite (tests/node) runs on GPU hosts
that have only pytest, testinfra and PyTorch, and pytest loads this file for it too.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from components.loader import StackFile
    from stacks.engine import Plan

REPO = Path(__file__).resolve().parent.parent
UPSTREAM = Path(os.environ.get("INFERENCE_RA_UPSTREAM", REPO.parent / "shared" / "upstream"))
CRD_DIR = Path(os.environ.get("INFERENCE_RA_CRD_DIR", UPSTREAM / "crds"))
CHART_VALUES_DIR = Path(os.environ.get("INFERENCE_RA_CHART_VALUES_DIR", UPSTREAM / "chart-values"))
CHARTS_DIR = Path(os.environ.get("INFERENCE_RA_CHARTS_DIR", UPSTREAM / "charts"))
SHIPPED_STACKS = ("dev", "aws-h100", "ncp-ib")

_plans: dict[str, Plan] = {}


def shipped_plan(name: str) -> Plan:
    from components.loader import read_stack_file
    from stacks.engine import synth

    if name not in _plans:
        _plans[name] = synth(read_stack_file(name))
    return _plans[name]


@pytest.fixture(params=SHIPPED_STACKS)
def plan(request: pytest.FixtureRequest) -> Plan:
    return shipped_plan(request.param)


def stack_config(name: str) -> dict[str, Any]:
    """The `inference-ra:` config of a shipped stack, without namespace, as a mutable deep copy."""
    from components.loader import read_stack_file

    return copy.deepcopy(read_stack_file(name).project_config())


def stack_file_from(config: dict[str, Any], name: str = "test", region: str | None = "us-east-2") -> StackFile:
    """A StackFile for an in-memory config (keys without the `inference-ra:` namespace)."""
    from components.loader import StackFile

    full: dict[str, Any] = {f"inference-ra:{k}": v for k, v in config.items()}
    if region:
        full["aws:region"] = region
    return StackFile(name=name, path=Path(f"<memory:{name}>"), config=full)


def write_stack(tmp_path: Path, config: dict[str, Any], name: str = "test") -> Path:
    import yaml

    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": {f"inference-ra:{k}": v for k, v in config.items()}}))
    return path


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def upstream_present() -> bool:
    return CRD_DIR.is_dir() and CHART_VALUES_DIR.is_dir()


UPSTREAM_MISSING = (
    f"upstream reference data not found (CRDs {CRD_DIR}, chart values {CHART_VALUES_DIR}): ../shared/upstream sits "
    "beside the checkout (README: upstream reference data), or set INFERENCE_RA_UPSTREAM / INFERENCE_RA_CRD_DIR / "
    "INFERENCE_RA_CHART_VALUES_DIR"
)


def pytest_configure(config: pytest.Config) -> None:
    """In CI (CI=true) a missing ../shared fails the run: the schema tests would otherwise skip and pass."""
    if in_ci() and not upstream_present():
        raise pytest.UsageError(f"CI=true: {UPSTREAM_MISSING}")


@pytest.fixture
def requires_upstream() -> None:
    if not upstream_present():
        if in_ci():
            pytest.fail(UPSTREAM_MISSING)
        pytest.skip(UPSTREAM_MISSING)
