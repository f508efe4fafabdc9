"""Shared fixtures: specs derived from the shipped ncp-ib stack (KAI tenants, Triton, KEDA) and upstream dirs."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from components.loader import read_stack_file
from components.spec import StackSpec

UPSTREAM = Path(os.environ.get("INFERENCE_RA_UPSTREAM", "/work/shared/upstream"))
CRD_DIR = Path(os.environ.get("INFERENCE_RA_CRD_DIR", UPSTREAM / "crds"))
VALUES_DIR = Path(os.environ.get("INFERENCE_RA_CHART_VALUES_DIR", UPSTREAM / "chart-values"))


def ncp_config() -> dict[str, Any]:
    return copy.deepcopy(read_stack_file("ncp-ib").project_config())


def make_spec(config: dict[str, Any]) -> StackSpec:
    """Fields validated, rules not run: tests call one rule at a time."""
    return StackSpec.model_validate(config)


@pytest.fixture
def ncp() -> dict[str, Any]:
    return ncp_config()


@pytest.fixture
def validator() -> Any:
    if not CRD_DIR.is_dir() or not VALUES_DIR.is_dir():
        pytest.skip(f"upstream reference data not found at {UPSTREAM}")
    from stacks.validate import Validator

    return Validator("1.33", crd_dir=CRD_DIR, chart_values_dir=VALUES_DIR)
