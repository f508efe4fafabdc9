"""Shared helpers of the storage tests: specs from the shipped stacks with overrides, and rule runners."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import platform
from components.loader import read_stack_file
from components.rules import RULES, Problem, load_rule_modules
from components.spec import StackSpec
from stacks.engine import Plan, synth

STACKS = Path(__file__).resolve().parents[2] / "stacks"


def stack_config(name: str) -> dict[str, Any]:
    """A shipped stack's `inference-ra:` config as {top-level key: value}."""
    doc = yaml.safe_load((STACKS / f"Pulumi.{name}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in doc.items() if k.startswith("inference-ra:")}


def make_spec(name: str, **overrides: Any) -> StackSpec:
    data = copy.deepcopy(stack_config(name))
    for path, value in overrides.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if not key.isdigit() else node[int(key)]
        node[keys[-1]] = value
    return StackSpec.model_validate(data)


def run_rule(name: str, spec: StackSpec) -> list[Problem]:
    load_rule_modules()
    return list(RULES[name](spec))


@pytest.fixture(scope="session")
def aws_plan() -> Plan:
    """aws-h100 synthesized with stand-in network and cluster layers (tests/storage/network_standin.py)."""
    mp = pytest.MonkeyPatch()
    # pin the network layer's outputs and the cluster's OIDC provider to known values (stand-ins keep the contract)
    standins = {"network": "tests.storage.network_standin:network", "cluster": "tests.storage.network_standin:cluster"}
    mp.setattr(platform, "LAYERS", tuple((name, standins.get(name, target)) for name, target in platform.LAYERS))
    try:
        return synth(read_stack_file("aws-h100"))
    finally:
        mp.undo()
