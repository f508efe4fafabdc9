"""Serving spec rules: one passing and one failing case each."""

from __future__ import annotations

import pytest

from components.rules import serving as rules
from tests.serving.conftest import make_spec


def paths(problems) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.path for p in problems]


DISAGG = {
    "model": "meta-llama/Llama-3.1-70B-Instruct",
    "architecture": "llama-3.1-70b",
    "mode": "disaggregated",
    "worker": None,
    "prefill": {"tensorParallel": 2},
    "decode": {"tensorParallel": 4},
}


def test_planner_sla_passes_with_slo_and_prometheus() -> None:
    spec = make_spec(model={**DISAGG, "autoscaling": {"mode": "planner-sla", "maxReplicas": 4}})
    assert list(rules.planner_sla_needs(spec)) == []


def test_rejects_planner_sla_without_prometheus() -> None:
    spec = make_spec(
        model={**DISAGG, "autoscaling": {"mode": "planner-sla", "maxReplicas": 4}},
        observability={"enabled": False},
    )
    problems = list(rules.planner_sla_needs(spec))
    assert paths(problems) == ["serving.models[0].autoscaling.mode"]
    assert "Prometheus" in problems[0].render()


def test_rejects_planner_sla_without_slo() -> None:
    spec = make_spec(model={**DISAGG, "slo": None, "autoscaling": {"mode": "planner-sla", "maxReplicas": 4}})
    assert paths(rules.planner_sla_needs(spec)) == ["serving.models[0].slo"]


def test_multinode_passes_with_grove() -> None:
    spec = make_spec(model={**DISAGG, "decode": {"tensorParallel": 16, "multinode": True}}, dynamo={"grove": True})
    assert list(rules.multinode_orchestrator(spec)) == []


def test_rejects_multinode_without_grove() -> None:
    spec = make_spec(model={**DISAGG, "decode": {"tensorParallel": 16, "multinode": True}})
    assert paths(rules.multinode_orchestrator(spec)) == ["serving.models[0].decode.multinode"]


@pytest.fixture
def object_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    """A release whose KVBM has an object tier (1.4.0's has none)."""
    import dataclasses

    from components.catalog import dynamo

    base = dynamo.DYNAMO_RELEASES["1.4.0"]
    monkeypatch.setitem(dynamo.DYNAMO_RELEASES, "1.4.0", dataclasses.replace(base, kvbm_object_tier=True))


def test_rejects_object_store_on_a_release_without_an_object_tier() -> None:
    kv = {"connector": "kvbm", "cpuGi": 200, "objectStore": "s3://kv-bucket/llama"}
    problems = list(rules.kv_object_store(make_spec(model={"kvCache": kv})))
    assert [p.render() for p in problems] == [
        "inference-ra:serving.models[0].kvCache.objectStore: KVBM of Dynamo 1.4.0 has no object-store (G4) tier: it "
        "reads no object-store setting (got 's3://kv-bucket/llama'; drop objectStore (G2 cpuGi and G3 diskGi remain))"
    ]


def test_kv_object_store_passes_for_kvbm_on_s3(object_tier: None) -> None:
    kv = {"connector": "kvbm", "cpuGi": 200, "objectStore": "s3://kv-bucket/llama"}
    assert list(rules.kv_object_store(make_spec(model={"kvCache": kv}))) == []


def test_rejects_object_store_that_is_not_s3(object_tier: None) -> None:
    kv = {"connector": "kvbm", "cpuGi": 200, "objectStore": "gs://kv-bucket"}
    assert paths(rules.kv_object_store(make_spec(model={"kvCache": kv}))) == ["serving.models[0].kvCache.objectStore"]


def test_rejects_object_store_with_lmcache(object_tier: None) -> None:
    kv = {"connector": "lmcache", "cpuGi": 200, "objectStore": "s3://kv-bucket"}
    problems = list(rules.kv_object_store(make_spec(model={"kvCache": kv})))
    assert [p.got for p in problems] == ["lmcache"]


def test_expert_parallel_passes_on_moe() -> None:
    spec = make_spec(
        model={
            "model": "openai/gpt-oss-120b",
            "architecture": "gpt-oss-120b",
            "weightsDtype": "mxfp4",
            "worker": {"tensorParallel": 2, "expertParallel": True},
        }
    )
    assert list(rules.expert_parallel_needs_moe(spec)) == []


def test_rejects_expert_parallel_on_dense_model() -> None:
    spec = make_spec(model={"worker": {"tensorParallel": 1, "expertParallel": True}})
    problems = list(rules.expert_parallel_needs_moe(spec))
    assert paths(problems) == ["serving.models[0].worker.expertParallel"]
    assert "llama-3.1-8b" in problems[0].message
