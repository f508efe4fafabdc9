"""Stacks for fabric tests: the shipped stacks read from disk, and small specs built from dicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.loader import read_stack_file
from components.spec import StackSpec


def base_config(fabric: dict[str, Any], *, instance: str = "dgx-h100", provider: str = "existing") -> dict[str, Any]:
    pool: dict[str, Any] = {
        "name": "gpu",
        "gpu": "h100-sxm-80gb",
        "instanceType": instance,
        "nodes": {"min": 2, "max": 4},
    }
    if provider == "existing":
        pool["nodeSelector"] = {"sku": "h100"}
    cluster: dict[str, Any] = {"provider": provider, "name": "fab-test"}
    network: dict[str, Any] = {"fabric": fabric}
    if provider == "aws":
        network["availabilityZones"] = ["us-east-2a"]
        cluster["publicAccessCidrs"] = ["203.0.113.0/24"]  # the endpoint is public by default, restricted
    return {"cluster": cluster, "network": network, "gpuPools": [pool]}


def spec_of(config: dict[str, Any]) -> StackSpec:
    """Field validation only (rules are tested on their own)."""
    return StackSpec.model_validate(copy.deepcopy(config))


IB8 = {
    "type": "infiniband",
    "devices": [f"mlx5_{i}" for i in range(8)],
    "interfaces": [f"ibp{i}s0" for i in range(8)],
}


@pytest.fixture(scope="session")
def aws_h100_plan():  # type: ignore[no-untyped-def]
    from stacks.engine import synth

    return synth(read_stack_file("aws-h100"))


@pytest.fixture(scope="session")
def ncp_ib_plan():  # type: ignore[no-untyped-def]
    from stacks.engine import synth

    return synth(read_stack_file("ncp-ib"))
