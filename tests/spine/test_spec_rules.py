"""A passing and a failing case for every spine rule (components/rules/spine.py)."""

from __future__ import annotations

from typing import Any

import pytest

from components.loader import SpecError, spec_from_mapping
from components.rules import Problem
from tests.conftest import stack_config


def problems(config: dict[str, Any], region: str | None = "us-east-2") -> list[Problem]:
    try:
        spec_from_mapping(config, region=region)
    except SpecError as exc:
        return exc.problems
    return []


def assert_problem(config: dict[str, Any], path: str, fragment: str) -> Problem:
    found = problems(config)
    hits = [p for p in found if p.path == path and fragment in p.message]
    assert hits, f"no problem at {path} containing {fragment!r}; got: " + "; ".join(p.render() for p in found)
    return hits[0]


@pytest.mark.parametrize("stack", ["dev", "aws-h100", "ncp-ib"])
def test_shipped_stacks_pass_every_rule(stack: str) -> None:
    assert problems(stack_config(stack)) == []


# --- unique-names ---------------------------------------------------------------------------------------------
def test_rejects_duplicate_pool_names() -> None:
    cfg = stack_config("ncp-ib")
    cfg["gpuPools"][1]["name"] = "h200"
    cfg["gpuPools"][1]["gpu"], cfg["gpuPools"][1]["instanceType"] = "h200-sxm-141gb", "hgx-h200-8gpu"
    cfg["gpuPools"][1].pop("computeDomain")
    p = assert_problem(cfg, "gpuPools", "unique")
    assert p.got == "h200"


def test_rejects_duplicate_model_names() -> None:
    cfg = stack_config("ncp-ib")
    cfg["serving"]["models"][1]["name"] = "deepseek-r1"
    assert_problem(cfg, "serving.models", "unique")


# --- pool-catalog -----------------------------------------------------------------------------------------------
def test_rejects_unknown_gpu_and_node_type() -> None:
    cfg = stack_config("dev")
    cfg["gpuPools"][0]["gpu"] = "h300"
    assert_problem(cfg, "gpuPools[0].gpu", "unknown GPU model")
    cfg = stack_config("dev")
    cfg["gpuPools"][0]["instanceType"] = "p9.mega"
    assert_problem(cfg, "gpuPools[0].instanceType", "unknown node type")


def test_rejects_gpu_not_matching_instance_type() -> None:
    cfg = stack_config("aws-h100")
    cfg["gpuPools"][0]["gpu"] = "h200-sxm-141gb"
    p = assert_problem(cfg, "gpuPools[0].gpu", "does not match instance type p5.48xlarge")
    assert "8x h100-sxm-80gb" in p.message and "set gpu: h100-sxm-80gb" in p.fix


def test_rejects_bare_metal_node_type_on_aws() -> None:
    cfg = stack_config("aws-h100")
    cfg["gpuPools"][0]["instanceType"] = "dgx-h100"
    assert_problem(cfg, "gpuPools[0].instanceType", "bare-metal system but cluster.provider is aws")


def test_rejects_existing_cluster_pool_without_nodes() -> None:
    cfg = stack_config("dev")
    cfg["gpuPools"][0].pop("nodeSelector")
    assert_problem(cfg, "gpuPools[0]", "must name its nodes")


# --- node-count -------------------------------------------------------------------------------------------------
def test_rejects_desired_above_max() -> None:
    cfg = stack_config("aws-h100")
    cfg["gpuPools"][0]["nodes"] = {"min": 2, "desired": 20, "max": 16}
    p = assert_problem(cfg, "gpuPools[0].nodes", "min <= desired <= max")
    assert p.got == "min 2, desired 20, max 16"


@pytest.mark.parametrize(
    ("stack", "mutate", "reason"),
    [
        ("aws-h100", {"type": "capacity-reservation", "reservationId": "cr-0abc123def4567890"}, "capacity-reservation"),
        ("ncp-ib", {}, "existing cluster"),
    ],
)
def test_rejects_min_zero_when_pool_cannot_wake(stack: str, mutate: dict[str, Any], reason: str) -> None:
    cfg = stack_config(stack)
    pool = cfg["gpuPools"][0]
    if mutate:
        pool["capacity"] = mutate
    pool["nodes"]["min"] = 0
    pool["nodes"].pop("desired", None)
    assert_problem(cfg, "gpuPools[0].nodes.min", reason)


def test_rejects_min_zero_with_compute_domain() -> None:
    cfg = stack_config("aws-h100")
    pool = cfg["gpuPools"][0]
    pool["capacity"] = {"type": "on-demand"}
    pool["nodes"] = {"min": 0, "max": 16}
    pool["computeDomain"] = True
    assert_problem(cfg, "gpuPools[0].nodes.min", "ComputeDomain")


def test_accepts_min_zero_on_demand_aws_pool() -> None:
    cfg = stack_config("aws-h100")
    cfg["gpuPools"][0]["capacity"] = {"type": "on-demand"}
    cfg["gpuPools"][0]["nodes"] = {"min": 0, "max": 16}
    assert not [p for p in problems(cfg) if p.path.startswith("gpuPools[0].nodes")]


# --- aws-network ------------------------------------------------------------------------------------------------
def test_rejects_aws_without_azs() -> None:
    cfg = stack_config("aws-h100")
    cfg["network"]["availabilityZones"] = []
    cfg["gpuPools"][0].pop("availabilityZone")
    assert_problem(cfg, "network.availabilityZones", "at least one AZ")


def test_rejects_pool_az_outside_network() -> None:
    cfg = stack_config("aws-h100")
    cfg["gpuPools"][0]["availabilityZone"] = "us-east-2c"
    assert_problem(cfg, "gpuPools[0].availabilityZone", "not one of network.availabilityZones")


def test_rejects_unrestricted_public_endpoint() -> None:
    cfg = stack_config("aws-h100")
    cfg["cluster"]["endpointPublicAccess"] = True
    cfg["cluster"]["publicAccessCidrs"] = []
    assert_problem(cfg, "cluster.publicAccessCidrs", "allow-listed CIDRs")
    cfg["cluster"]["publicAccessCidrs"] = ["0.0.0.0/0"]
    assert_problem(cfg, "cluster.publicAccessCidrs[0]", "opens the endpoint to every address")
    cfg["cluster"]["publicAccessCidrs"] = ["203.0.113.0/24"]
    assert not [p for p in problems(cfg) if p.path.startswith("cluster.publicAccessCidrs")]


# --- model-references ---------------------------------------------------------------------------------------------
def test_rejects_model_on_unknown_pool() -> None:
    cfg = stack_config("dev")
    cfg["serving"]["models"][0]["pool"] = "b200"
    p = assert_problem(cfg, "serving.models[0].pool", "names no GPU pool")
    assert "['h100']" in p.fix


def test_rejects_unknown_architecture() -> None:
    cfg = stack_config("dev")
    cfg["serving"]["models"][0]["architecture"] = "llama-5"
    assert_problem(cfg, "serving.models[0].architecture", "unknown architecture")


def test_rejects_unknown_tenant() -> None:
    cfg = stack_config("ncp-ib")
    cfg["serving"]["models"][0]["tenant"] = "team-z"
    assert_problem(cfg, "serving.models[0].tenant", "names no scheduling queue")


def test_rejects_aggregated_without_worker() -> None:
    cfg = stack_config("dev")
    cfg["serving"]["models"][0].pop("worker")
    assert_problem(cfg, "serving.models[0]", "aggregated mode needs `worker`")


def test_rejects_disaggregated_without_decode() -> None:
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0].pop("decode")
    assert_problem(cfg, "serving.models[0]", "disaggregated mode needs `prefill` and `decode`")


def test_rejects_auto_sizing_without_traffic() -> None:
    cfg = stack_config("dev")
    cfg["serving"]["models"][0]["sizing"] = "auto"
    assert_problem(cfg, "serving.models[0].sizing", "needs `slo` and `traffic`")


# --- parallelism-fits-node -------------------------------------------------------------------------------------
def test_rejects_parallelism_beyond_node() -> None:
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0]["decode"]["tensorParallel"] = 16
    p = assert_problem(cfg, "serving.models[0].decode.tensorParallel", "has 8 per node")
    assert "pool 'h100' (p5.48xlarge)" in p.message and "multinode" in p.fix


def test_rejects_multinode_not_filling_nodes() -> None:
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0]["decode"].update(tensorParallel=4, pipelineParallel=3, multinode=True)
    assert_problem(cfg, "serving.models[0].decode.tensorParallel", "must fill whole nodes")


def test_accepts_multinode_with_whole_nodes() -> None:
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0]["decode"].update(tensorParallel=16, multinode=True)
    assert not [p for p in problems(cfg) if "tensorParallel" in p.path]


# --- weights-fit-hbm ---------------------------------------------------------------------------------------------
def test_rejects_weights_larger_than_hbm() -> None:
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0]["weightsDtype"] = "bf16"
    cfg["serving"]["models"][0]["prefill"]["tensorParallel"] = 1
    p = assert_problem(cfg, "serving.models[0].prefill.tensorParallel", "weights need 131.5 GiB per GPU")
    assert "quantize" in p.fix


# --- rdma-for-disaggregation -------------------------------------------------------------------------------------
def test_rejects_disaggregation_on_tcp() -> None:
    cfg = stack_config("aws-h100")
    cfg["network"]["fabric"] = {"type": "tcp"}
    p = assert_problem(cfg, "serving.models[0].mode", "over NIXL")
    assert "efa, infiniband or roce" in p.fix


def test_rejects_multinode_on_tcp() -> None:
    cfg = stack_config("dev")
    cfg["serving"]["models"][0]["worker"] = {"tensorParallel": 16, "multinode": True}
    assert_problem(cfg, "serving.models[0].worker.multinode", "needs an RDMA fabric")


# --- kv-cache-tiers -----------------------------------------------------------------------------------------------
def kv(cfg: dict[str, Any], **tiers: Any) -> dict[str, Any]:
    cfg["serving"]["models"][0]["kvCache"] = tiers
    return cfg


def test_rejects_tiers_without_connector() -> None:
    assert_problem(
        kv(stack_config("aws-h100"), connector="none", cpuGi=10),
        "serving.models[0].kvCache.connector",
        "need a connector",
    )


def test_rejects_connector_engine_mismatch() -> None:
    cfg = kv(stack_config("aws-h100"), connector="kvbm", cpuGi=256)
    cfg["serving"]["models"][0]["engine"] = "sglang"
    assert_problem(cfg, "serving.models[0].kvCache.connector", "does not support engine sglang")


def test_rejects_disk_tier_without_ram_tier() -> None:
    assert_problem(
        kv(stack_config("aws-h100"), connector="kvbm", diskGi=500),
        "serving.models[0].kvCache.cpuGi",
        "sits below a host-RAM tier",
    )


def test_rejects_disk_tier_smaller_than_ram_tier() -> None:
    assert_problem(
        kv(stack_config("aws-h100"), connector="kvbm", cpuGi=300, diskGi=100),
        "serving.models[0].kvCache.diskGi",
        "at least the host-RAM tier",
    )


def test_rejects_ram_tier_smaller_than_gpu_kv() -> None:
    p = assert_problem(
        kv(stack_config("aws-h100"), connector="kvbm", cpuGi=16),
        "serving.models[0].kvCache.cpuGi",
        "smaller than the decode worker's GPU KV cache",
    )
    assert "set cpuGi >=" in p.fix


def test_rejects_ram_tier_beyond_node_ram() -> None:
    p = assert_problem(
        kv(stack_config("aws-h100"), connector="kvbm", cpuGi=1000, diskGi=1000),
        "serving.models[0].kvCache.cpuGi",
        "exceeds the node's 2048 GiB RAM",
    )
    assert "2 decode workers per node x 1000 GiB" in p.message  # TP4 workers: 2 per 8-GPU node


def test_rejects_disk_tier_without_local_nvme() -> None:
    cfg = kv(stack_config("aws-h100"), connector="kvbm", cpuGi=256, diskGi=1000)
    cfg["gpuPools"][0].pop("localNvme")
    assert_problem(cfg, "serving.models[0].kvCache.diskGi", "has no localNvme")


def test_rejects_disk_tier_beyond_node_nvme() -> None:
    p = assert_problem(
        kv(stack_config("aws-h100"), connector="kvbm", cpuGi=256, diskGi=15000),
        "serving.models[0].kvCache.diskGi",
        "of local NVMe",
    )
    assert "28610 GiB" in p.message


# --- efa-instance -------------------------------------------------------------------------------------------------
def test_rejects_efa_off_aws() -> None:
    cfg = stack_config("ncp-ib")
    cfg["network"]["fabric"] = {"type": "efa"}
    assert_problem(cfg, "network.fabric.type", "EFA exists only on AWS")


def test_rejects_efa_on_instance_without_it() -> None:
    cfg = stack_config("aws-h100")
    cfg["gpuPools"][0].update(gpu="l40s-48gb", instanceType="g6e.xlarge")
    cfg["serving"]["models"] = []
    assert_problem(cfg, "gpuPools[0].instanceType", "no EFA interfaces")


def test_rejects_more_rails_than_efa_interfaces() -> None:
    cfg = stack_config("aws-h100")
    cfg["network"]["fabric"]["railsPerNode"] = 32
    cfg["gpuPools"][0].update(gpu="h200-sxm-141gb", instanceType="p5en.48xlarge")
    assert_problem(cfg, "network.fabric.railsPerNode", "only 16 EFA interfaces")


# --- autoscaling-fits-pool -----------------------------------------------------------------------------------------
def test_rejects_autoscaling_beyond_pool() -> None:
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0]["autoscaling"]["maxReplicas"] = 40
    p = assert_problem(cfg, "serving.models[0].autoscaling.maxReplicas", "need up to 160 GPUs")
    assert "at most 128 (16 nodes x 8)" in p.message


def test_rejects_min_replicas_above_max() -> None:
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0]["autoscaling"].update(minReplicas=9, maxReplicas=8)
    assert_problem(cfg, "serving.models[0].autoscaling.minReplicas", "exceeds maxReplicas")
