"""Shared fixtures of the compute tests: shipped stack specs, spec variants, and offline synths (cached per stack)."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from components.loader import StackFile, read_stack_file, spec_from_mapping
from components.spec import StackSpec
from stacks.engine import Plan, synth

UPSTREAM = Path("/work/shared/upstream")


def stack_mapping(stack: str) -> dict[str, Any]:
    """The `inference-ra:` config of a shipped stack, as a plain mapping (deep copy, safe to edit)."""
    return copy.deepcopy(read_stack_file(stack).project_config())


def spec_of(data: dict[str, Any], region: str | None = "us-east-2") -> StackSpec:
    return spec_from_mapping(data, region=region)


@lru_cache(maxsize=8)
def _synth(stack: str) -> Plan:
    return synth(read_stack_file(stack))


@pytest.fixture(scope="session")
def plans() -> Any:
    return _synth


def synth_mapping(name: str, data: dict[str, Any], region: str = "us-east-2") -> Plan:
    config: dict[str, Any] = {f"inference-ra:{k}": v for k, v in data.items()}
    config["aws:region"] = region
    return synth(StackFile(name=name, path=Path(f"/tmp/Pulumi.{name}.yaml"), config=config))


def resources(plan: Plan, type_: str) -> list[Any]:
    return sorted((r for r in plan.resources if r.type == type_), key=lambda r: r.urn)


def one(plan: Plan, type_: str, name: str) -> Any:
    found = [r for r in plan.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{type_} {name}: {len(found)} found"
    return found[0]
