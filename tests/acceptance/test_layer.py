"""The acceptance layer in the stack: objects, thresholds shipped per pool, RBAC, gating; and its spec rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.constants import ACCEPTANCE_LABEL, POOL_LABEL
from components.loader import SpecError, StackFile, read_stack_file, spec_from_mapping, spec_from_stack_file
from components.namespaces import namespaces_for
from components.platform import LAYERS
from gpu_nodepools import acceptance
from gpu_nodepools.thresholds import thresholds_document
from stacks.engine import synth


def spec_of(name: str) -> Any:
    return spec_from_stack_file(read_stack_file(name))


def by_kind(objs: list[dict], kind: str) -> list[dict]:
    return [o for o in objs if o["kind"] == kind]


def test_layer_runs_after_namespaces() -> None:
    names = [n for n, _ in LAYERS]
    assert names.index("acceptance") > names.index("namespaces")
    assert dict(LAYERS)["acceptance"] == "gpu_nodepools.acceptance:build"


@pytest.mark.parametrize("stack", ["dev", "aws-h100", "ncp-ib"])
def test_one_burnin_daemonset_per_gpu_pool(stack: str) -> None:
    spec = spec_of(stack)
    objs = acceptance.manifests(spec)
    ds = {o["metadata"]["name"]: o for o in by_kind(objs, "DaemonSet")}
    assert sorted(ds) == sorted(f"gpu-acceptance-{p.name}" for p in spec.gpu_pools)
    assert "gpu-acceptance" in namespaces_for(spec)
    cm = by_kind(objs, "ConfigMap")[0]
    assert cm["data"]["burnin.py"] == acceptance.PROGRAM.read_text()
    for pool in spec.gpu_pools:
        pod = ds[f"gpu-acceptance-{pool.name}"]["spec"]["template"]["spec"]
        shipped = json.loads(cm["data"][f"thresholds-{pool.name}.json"])
        gpus = spec.node_type(pool).gpus
        assert shipped == thresholds_document(pool.gpu, gpus)
        init = pod["initContainers"][0]
        assert init["image"] == "nvcr.io/nvidia/pytorch:25.08-py3"
        assert init["args"][init["args"].index("--expect-gpus") + 1] == str(gpus)
        assert init["args"][init["args"].index("--label-key") + 1] == ACCEPTANCE_LABEL
        env = {e["name"]: e.get("value") for e in init["env"]}
        assert env["NCCL_NVLS_ENABLE"] == "0" and env["NVIDIA_VISIBLE_DEVICES"] == "all"
        assert "nvidia.com/gpu" not in json.dumps(init["resources"])  # the idle pod holds no GPU
        assert pod["runtimeClassName"] == "nvidia" and pod["serviceAccountName"] == "gpu-acceptance"
        assert pod["nodeSelector"] == (dict(pool.node_selector) or {POOL_LABEL: pool.name})


def test_rbac_may_only_patch_nodes() -> None:
    role = by_kind(acceptance.manifests(spec_of("dev")), "ClusterRole")[0]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["patch"]}]


def test_gate_decides_await_and_serving_selector() -> None:
    dev, aws = spec_of("dev"), spec_of("aws-h100")
    dev_ds = by_kind(acceptance.manifests(dev), "DaemonSet")[0]
    aws_ds = by_kind(acceptance.manifests(aws), "DaemonSet")[0]
    assert dev_ds["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}  # ungated: informational
    assert "annotations" not in aws_ds["metadata"]  # gated: pulumi waits for every node's burn-in
    assert acceptance.gate_node_selector(aws, "h100") == {ACCEPTANCE_LABEL: "passed"}
    assert acceptance.gate_node_selector(dev, "h100") == {}


def test_soak_seconds_reach_the_program() -> None:
    cfg = read_stack_file("dev").project_config()
    cfg["gpuPools"][0]["acceptance"] = {"soakSeconds": 300}
    spec = spec_from_mapping(cfg)
    args = by_kind(acceptance.manifests(spec), "DaemonSet")[0]["spec"]["template"]["spec"]["initContainers"][0]["args"]
    assert args[args.index("--gemm-seconds") + 1] == "300"


def test_disabled_pools_render_nothing() -> None:
    cfg = read_stack_file("dev").project_config()
    cfg["gpuPools"][0]["acceptance"] = {"enabled": False}
    spec = spec_from_mapping(cfg)
    assert acceptance.manifests(spec) == [] and "gpu-acceptance" not in namespaces_for(spec)


def test_plan_holds_the_layer_and_gated_daemonset_waits_for_its_config() -> None:
    plan = synth(read_stack_file("aws-h100"))
    ds = next(r for r in plan.resources if r.type == "kubernetes:apps/v1:DaemonSet" and "gpu-acceptance" in r.name)
    assert "inference-ra:acceptance:Acceptance" in ds.urn
    assert any("ConfigMap::gpu-acceptance/gpu-acceptance" in d for d in ds.depends_on)
    assert any("ClusterRoleBinding::" in d for d in ds.depends_on)


def test_rejects_gate_without_burnin() -> None:
    cfg = read_stack_file("dev").project_config()
    cfg["gpuPools"][0]["acceptance"] = {"enabled": False, "gate": True}
    with pytest.raises(
        SpecError, match=r"gpuPools\[0\]\.acceptance\.gate: gates serving on a burn-in that is disabled"
    ):
        spec_from_mapping(cfg)


def test_rejects_soak_out_of_range() -> None:
    cfg = read_stack_file("dev").project_config()
    cfg["gpuPools"][0]["acceptance"] = {"soakSeconds": 1}
    with pytest.raises(SpecError, match="soakSeconds"):
        spec_from_mapping(cfg)


def test_shipped_stacks_pass_the_acceptance_rules() -> None:
    for name in ("dev", "aws-h100", "ncp-ib"):
        sf: StackFile = read_stack_file(name)
        spec_from_stack_file(sf)  # raises SpecError on any problem
