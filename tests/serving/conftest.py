"""Specs for serving tests: a small AWS stack on EFA that each test adjusts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.spec import StackSpec

BASE: dict[str, Any] = {
    "cluster": {"provider": "aws", "name": "test-cluster", "kubernetesVersion": "1.33"},
    "network": {"availabilityZones": ["us-east-2a"], "fabric": {"type": "efa"}},
    "gpuPools": [
        {
            "name": "h100",
            "gpu": "h100-sxm-80gb",
            "instanceType": "p5.48xlarge",
            "nodes": {"min": 1, "max": 4},
            "localNvme": {"raid0": True},
        }
    ],
    "serving": {
        "models": [
            {
                "name": "llama",
                "model": "meta-llama/Llama-3.1-8B-Instruct",
                "architecture": "llama-3.1-8b",
                "pool": "h100",
                "mode": "aggregated",
                "worker": {"tensorParallel": 1, "replicas": 2},
                "slo": {"ttftMs": 300, "itlMs": 20},
            }
        ]
    },
}


def make_spec(**overrides: Any) -> StackSpec:
    """BASE with `overrides` merged into the top-level keys; `model={...}` merges into models[0], `dynamo={...}` and
    `routing={...}` replace serving.dynamo / serving.routing."""
    data = copy.deepcopy(BASE)
    model = overrides.pop("model", None)
    if model:
        data["serving"]["models"][0].update(model)
    dynamo = overrides.pop("dynamo", None)
    if dynamo:
        data["serving"]["dynamo"] = dynamo
    routing = overrides.pop("routing", None)
    if routing:
        data["serving"]["routing"] = routing
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return StackSpec.model_validate(data)


@pytest.fixture
def spec_factory():  # type: ignore[no-untyped-def]
    return make_spec


def pool_inputs(spec: StackSpec, pool_name: str) -> Any:
    """The `PoolInputs` the serving layer reads from the context, computed with the producing layers' own pure
    functions (fabric profile, acceptance gate selector, NVMe StorageClass, ComputeDomain names), for testing graph
    builders alone."""
    from gpu_nodepools.acceptance import gate_node_selector
    from gpu_nodepools.operator import compute_domain_names
    from networking.profile import fabric_profile
    from serving.graphs import PoolInputs
    from storage.nvme import storage_class_for

    pool = spec.pool(pool_name)
    assert pool is not None
    extra = {"channel_template": compute_domain_names(pool)[1]} if pool.compute_domain else {}
    return PoolInputs(
        fabric=fabric_profile(spec, pool),
        gate_selector=gate_node_selector(spec, pool_name),
        kv_disk_class=storage_class_for(spec, pool) if pool.local_nvme is not None else None,
        **extra,
    )


def graph_for(spec: StackSpec, namespace: str = "dynamo", **kw: Any) -> Any:
    """The first model's DynamoGraphDeployment, with its pool's inputs as the serving layer would pass them."""
    model = spec.serving.models[0]
    from serving.graphs import graph_manifest

    return graph_manifest(spec, model, namespace, pool_inputs(spec, model.pool), **kw)
