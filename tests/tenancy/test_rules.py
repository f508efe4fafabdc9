"""Spec rules of the tenancy, Triton and KEDA layers: shipped stacks pass, each rule has a failing case."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.loader import SpecError, read_stack_file, spec_from_stack_file
from components.rules import Problem
from components.rules import tenancy as r
from tests.tenancy.conftest import make_spec


def paths(problems: Any) -> list[str]:
    return [p.path for p in problems]


def only(problems: Any) -> Problem:
    found = list(problems)
    assert len(found) == 1, [p.render() for p in found]
    return found[0]


@pytest.mark.parametrize("stack", ["dev", "aws-h100", "ncp-ib"])
def test_shipped_stacks_pass_every_rule(stack: str) -> None:
    spec = spec_from_stack_file(read_stack_file(stack))  # raises SpecError on any problem
    assert list(r.tenant_queues(spec)) == []
    assert list(r.triton_repository(spec)) == []


def test_cluster_gpus_counts_every_pool_at_max(ncp: dict[str, Any]) -> None:
    assert r.cluster_gpus(make_spec(ncp)) == 8 * 8 + 18 * 4


# ---- tenant-queues -----------------------------------------------------------------------------------------------
def test_rejects_gpu_limit_below_quota(ncp: dict[str, Any]) -> None:
    ncp["scheduling"]["queues"][1]["gpuLimit"] = 16  # quota 32
    p = only(r.tenant_queues(make_spec(ncp)))
    assert p.path == "scheduling.queues[1].gpuLimit"
    assert p.got == 16 and "gpuLimit >= 32" in p.fix


def test_rejects_quota_sum_over_cluster_gpus(ncp: dict[str, Any]) -> None:
    ncp["scheduling"]["queues"][0]["gpuQuota"] = 120  # + 32 = 152 > 136
    ncp["scheduling"]["queues"][1].pop("gpuLimit")
    p = only(r.tenant_queues(make_spec(ncp)))
    assert p.path == "scheduling.queues"
    assert p.got == 152 and "at most 136" in p.message


def test_rejects_queue_settings_without_kai(ncp: dict[str, Any]) -> None:
    ncp["serving"]["dynamo"]["kaiScheduler"] = False
    problems = list(r.tenant_queues(make_spec(ncp)))
    assert paths(problems) == ["scheduling.queues[0]", "scheduling.queues[1]"]
    assert "kaiScheduler is false" in problems[0].message


def test_accepts_plain_tenants_without_kai(ncp: dict[str, Any]) -> None:
    ncp["serving"]["dynamo"]["kaiScheduler"] = False
    ncp["scheduling"]["queues"] = [{"name": "team-a"}, {"name": "team-b"}]
    assert list(r.tenant_queues(make_spec(ncp))) == []


def test_rejects_parent_queue_named_as_a_tenant(ncp: dict[str, Any]) -> None:
    ncp["scheduling"]["parentQueue"] = "team-a"
    p = only(r.tenant_queues(make_spec(ncp)))
    assert p.path == "scheduling.parentQueue" and p.got == "team-a"


# ---- tenant-namespaces -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("namespace", ["dynamo-system", "kube-system", "monitoring", "keda"])
def test_rejects_tenant_in_platform_namespace(ncp: dict[str, Any], namespace: str) -> None:
    ncp["scheduling"]["queues"][0]["namespace"] = namespace
    p = only(r.tenant_namespaces(make_spec(ncp)))
    assert p.path == "scheduling.queues[0].namespace" and p.got == namespace


def test_rejects_tenants_sharing_a_namespace(ncp: dict[str, Any]) -> None:
    ncp["scheduling"]["queues"][1]["namespace"] = "team-a"
    problems = list(r.tenant_namespaces(make_spec(ncp)))
    assert paths(problems) == ["scheduling.queues[0].namespace", "scheduling.queues[1].namespace"]
    assert "shared with another tenant" in problems[0].message


# ---- triton-placement ----------------------------------------------------------------------------------------------
def triton(ncp: dict[str, Any]) -> dict[str, Any]:
    return ncp["serving"]["triton"][0]  # type: ignore[no-any-return]


def test_rejects_triton_gpus_without_pool(ncp: dict[str, Any]) -> None:
    triton(ncp).pop("pool")
    triton(ncp)["backends"] = ["onnxruntime"]
    p = only(r.triton_placement(make_spec(ncp)))
    assert p.path == "serving.triton[0].pool" and "1 GPUs per replica need a GPU pool" in p.message


def test_accepts_cpu_triton_without_pool(ncp: dict[str, Any]) -> None:
    triton(ncp).pop("pool")
    triton(ncp).update(gpus=0, backends=["onnxruntime", "python"])
    assert list(r.triton_placement(make_spec(ncp))) == []


def test_rejects_triton_on_unknown_pool(ncp: dict[str, Any]) -> None:
    triton(ncp)["pool"] = "a100"
    p = only(r.triton_placement(make_spec(ncp)))
    assert p.path == "serving.triton[0].pool" and p.got == "a100"


def test_rejects_triton_gpus_over_node(ncp: dict[str, Any]) -> None:
    triton(ncp)["gpus"] = 9  # hgx-h200-8gpu
    p = only(r.triton_placement(make_spec(ncp)))
    assert p.path == "serving.triton[0].gpus" and "set gpus <= 8" in p.fix


def test_rejects_triton_max_replicas_over_pool(ncp: dict[str, Any]) -> None:
    triton(ncp).update(gpus=8, maxReplicas=9)  # 72 > 64 GPUs of the h200 pool
    p = only(r.triton_placement(make_spec(ncp)))
    assert p.path == "serving.triton[0].maxReplicas" and p.got == 9


def test_rejects_tensorrt_backend_without_gpu(ncp: dict[str, Any]) -> None:
    triton(ncp)["gpus"] = 0
    p = only(r.triton_placement(make_spec(ncp)))
    assert p.path == "serving.triton[0].gpus" and "tensorrt" in p.message


def test_rejects_triton_replicas_over_max(ncp: dict[str, Any]) -> None:
    triton(ncp).update(replicas=5, maxReplicas=4)
    p = only(r.triton_placement(make_spec(ncp)))
    assert p.path == "serving.triton[0].replicas"


# ---- triton-repository ---------------------------------------------------------------------------------------------
def test_rejects_s3_off_aws_without_credentials(ncp: dict[str, Any]) -> None:
    triton(ncp).pop("s3CredentialsSecret")
    p = only(r.triton_repository(make_spec(ncp)))
    assert p.path == "serving.triton[0].s3CredentialsSecret"


@pytest.mark.parametrize("repo", ["gs://bucket/models", "https://example.com/models"])
def test_rejects_unsupported_repository_scheme(ncp: dict[str, Any], repo: str) -> None:
    triton(ncp).update(repository=repo)
    for key in ("s3Endpoint", "s3CredentialsSecret"):
        triton(ncp).pop(key)
    p = only(r.triton_repository(make_spec(ncp)))
    assert p.path == "serving.triton[0].repository" and "unsupported scheme" in p.message


def test_rejects_absolute_path_outside_model_cache(ncp: dict[str, Any]) -> None:
    triton(ncp).update(repository="/data/triton")
    for key in ("s3Endpoint", "s3CredentialsSecret"):
        triton(ncp).pop(key)
    p = only(r.triton_repository(make_spec(ncp)))
    assert "model cache mounted at /models" in p.message


def test_rejects_s3_settings_on_cache_repository(ncp: dict[str, Any]) -> None:
    triton(ncp).update(repository="triton/fraud")
    p = only(r.triton_repository(make_spec(ncp)))
    assert p.path == "serving.triton[0].s3Endpoint"


def test_rejects_s3_endpoint_without_port(ncp: dict[str, Any]) -> None:
    triton(ncp)["s3Endpoint"] = "https://s3.example.com"
    with pytest.raises(ValidationError, match=r"s3_endpoint|s3Endpoint"):
        make_spec(ncp)


# ---- keda-autoscaling ----------------------------------------------------------------------------------------------
def test_rejects_keda_without_prometheus(ncp: dict[str, Any]) -> None:
    ncp["observability"] = {"enabled": False}
    p = only(r.keda_autoscaling(make_spec(ncp)))
    assert p.path == "serving.models[1].autoscaling.mode" and "no Prometheus" in p.message


def test_accepts_keda_with_external_prometheus_url(ncp: dict[str, Any]) -> None:
    ncp["observability"] = {"enabled": False, "prometheus": {"mode": "external", "url": "http://prom:9090"}}
    assert list(r.keda_autoscaling(make_spec(ncp))) == []


def test_rejects_keda_without_slo(ncp: dict[str, Any]) -> None:
    ncp["serving"]["models"][1].pop("slo")
    p = only(r.keda_autoscaling(make_spec(ncp)))
    assert p.path == "serving.models[1].slo"


def test_rejects_keda_min_replicas_zero(ncp: dict[str, Any]) -> None:
    ncp["serving"]["models"][1]["autoscaling"]["minReplicas"] = 0
    p = only(r.keda_autoscaling(make_spec(ncp)))
    assert p.path == "serving.models[1].autoscaling.minReplicas"


def test_loader_reports_rule_problems_with_key_paths(ncp: dict[str, Any]) -> None:
    from components.loader import spec_from_mapping

    ncp["scheduling"]["queues"][1]["gpuLimit"] = 1
    with pytest.raises(SpecError) as err:
        spec_from_mapping(ncp)
    assert "inference-ra:scheduling.queues[1].gpuLimit: is below the queue's guaranteed gpuQuota 32" in str(err.value)
