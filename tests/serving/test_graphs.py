"""Graph builders (pure) and the serving layer on the offline engine, validated against upstream schemas."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from components.loader import read_stack_file
from serving import graphs, kv, platform
from stacks.engine import synth
from stacks.validate import Validator
from tests.serving.conftest import graph_for, make_spec

UPSTREAM = Path(os.environ.get("INFERENCE_RA_CRD_DIR", "/work/shared/upstream/crds")).parent
DISAGG_KVBM = {
    "model": "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
    "architecture": "llama-3.3-70b",
    "weightsDtype": "fp8",
    "mode": "disaggregated",
    "worker": None,
    "prefill": {"tensorParallel": 2, "replicas": 2},
    "decode": {"tensorParallel": 4, "replicas": 1},
    "kvCache": {"connector": "kvbm", "cpuGi": 256, "diskGi": 1000},
    "autoscaling": {"mode": "planner-sla", "maxReplicas": 4},
}


def _components(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in manifest["spec"]["components"]}


def _env(component: dict[str, Any]) -> dict[str, Any]:
    main = component["podTemplate"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in main["env"]}


def test_disaggregated_kvbm_graph_wires_fabric_kv_tiers_and_planner() -> None:
    spec = make_spec(model=DISAGG_KVBM)
    comps = _components(graph_for(spec))
    assert sorted(comps) == ["decode", "frontend", "planner", "prefill"]
    prefill, decode = comps["prefill"], comps["decode"]
    main = prefill["podTemplate"]["spec"]["containers"][0]
    # EFA: 4 of p5.48xlarge's 32 interfaces per GPU, in requests and limits; NIXL on EFA runs privileged
    # host share of a p5.48xlarge (192 vCPU, 2048 GiB) for 2 of 8 GPUs at 75%: 36 CPUs, 384 GiB (>= 256 + 32 floor)
    assert main["resources"]["limits"] == {"nvidia.com/gpu": "2", "vpc.amazonaws.com/efa": "8", "memory": "384Gi"}
    assert main["resources"]["requests"] == {**main["resources"]["limits"], "cpu": "36"}
    # NIXL on EFA: privileged as root (Dynamo's EFA guide; policies/exemptions.py efa_nixl_worker), and never with
    # allowPrivilegeEscalation: false, which the API server rejects next to privileged: true
    assert main["securityContext"] == {
        "capabilities": {"add": ["IPC_LOCK"]},
        "privileged": True,
        "runAsNonRoot": False,
        "runAsUser": 0,
    }
    # prefill offloads through KVBM stacked with NIXL; decode only receives over NIXL
    cfg = json.loads(main["args"][main["args"].index("--kv-transfer-config") + 1])
    assert cfg["kv_connector"] == "PdConnector"
    assert [c["kv_connector"] for c in cfg["kv_connector_extra_config"]["connectors"]] == [
        "DynamoConnector",
        "NixlConnector",
    ]
    assert comps["frontend"]["podTemplate"]["spec"]["containers"][0]["resources"] == graphs.control_resources("4", 16)
    dmain = decode["podTemplate"]["spec"]["containers"][0]
    assert json.loads(dmain["args"][dmain["args"].index("--kv-transfer-config") + 1])["kv_connector"] == "NixlConnector"
    env = _env(prefill)
    assert env["DYN_KVBM_CPU_CACHE_GB"] == "256"
    assert env["DYN_KVBM_DISK_CACHE_GB"] == "1000"
    assert env["DYN_KVBM_DISK_CACHE_DIR"] == kv.KV_DISK_MOUNT
    assert env["FI_PROVIDER"] == "efa"
    assert env["HF_TOKEN"] == {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}
    assert "DYN_KVBM_CPU_CACHE_GB" not in _env(decode)
    disk = next(v for v in prefill["podTemplate"]["spec"]["volumes"] if v["name"] == kv.KV_DISK_VOLUME)
    claim = disk["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "local-nvme" and claim["resources"]["requests"]["storage"] == "1000Gi"
    assert prefill["scalingAdapter"] == {} and decode["scalingAdapter"] == {}
    planner = comps["planner"]["podTemplate"]["spec"]["containers"][0]
    cfg = json.loads(planner["args"][1])
    assert cfg["optimization_target"] == "sla" and cfg["mode"] == "disagg"
    assert (cfg["ttft_ms"], cfg["itl_ms"], cfg["max_gpu_budget"]) == (300, 20, 16)


def test_aggregated_graph_has_no_connector_and_round_robin_frontend() -> None:
    spec = make_spec(model={"router": "round-robin"})
    comps = _components(graph_for(spec))
    assert sorted(comps) == ["frontend", "worker"]
    args = comps["worker"]["podTemplate"]["spec"]["containers"][0]["args"]
    assert "--kv-transfer-config" not in args and "--disaggregation-mode" not in args
    front = comps["frontend"]["podTemplate"]["spec"]["containers"][0]
    assert front["args"] == ["--http-port", "8000", "--router-mode", "round-robin"]
    assert front["env"][-1]["name"] != "DYN_ROUTER_KV_OVERLAP_SCORE_WEIGHT"
    assert "scalingAdapter" not in comps["worker"]


def test_sglang_and_trtllm_engine_args() -> None:
    spec = make_spec(
        model={
            "engine": "sglang",
            "model": "deepseek-ai/DeepSeek-R1",
            "architecture": "deepseek-r1",
            "weightsDtype": "fp8",
            "kvDtype": "fp8",
            "mode": "disaggregated",
            "worker": None,
            "prefill": {"tensorParallel": 8},
            "decode": {"tensorParallel": 8, "dataParallel": 2, "expertParallel": True, "multinode": True},
        },
        dynamo={"grove": True, "images": {"sglang-efa": "registry.example/sglang-runtime:1.4.0-efa"}},
    )
    comps = _components(graph_for(spec))
    args = comps["decode"]["podTemplate"]["spec"]["containers"][0]["args"]
    assert args[args.index("--tp-size") + 1] == "16" and args[args.index("--ep-size") + 1] == "16"
    assert "--enable-dp-attention" in args and args[args.index("--kv-cache-dtype") + 1] == "fp8_e4m3"
    assert args[args.index("--disaggregation-transfer-backend") + 1] == "nixl"
    assert comps["decode"]["multinode"] == {"nodeCount": 2}
    trt = make_spec(
        model={
            "engine": "trtllm",
            "mode": "disaggregated",
            "worker": None,
            "prefill": {},
            "decode": {},
            "kvCache": {"connector": "kvbm", "cpuGi": 100},
        },
        dynamo={"images": {"trtllm-efa": "registry.example/tensorrtllm-runtime:1.4.0-efa"}},
    )
    comps = _components(graph_for(trt))
    pargs = comps["prefill"]["podTemplate"]["spec"]["containers"][0]["args"]
    over = json.loads(pargs[pargs.index("--override-engine-args") + 1])
    assert over["cache_transceiver_config"] == {"backend": "NIXL"}
    assert over["kv_connector_config"]["connector_module"] == "kvbm.trtllm_integration.connector"


def test_kai_queue_and_grove_annotations() -> None:
    spec = make_spec(
        model={"tenant": "team-a"}, dynamo={"kaiScheduler": True}, scheduling={"queues": [{"name": "team-a"}]}
    )
    m = graph_for(spec, "team-a")
    assert m["metadata"]["annotations"] == {graphs.GROVE_ANNOTATION: "false", graphs.KAI_QUEUE_ANNOTATION: "team-a"}
    for comp in m["spec"]["components"]:
        assert comp["podTemplate"]["metadata"]["labels"][graphs.KAI_QUEUE_LABEL] == "team-a"
        assert comp["podTemplate"]["spec"]["schedulerName"] == "kai-scheduler"


def test_disruption_budgets_select_graph_and_role_labels() -> None:
    spec = make_spec(model=DISAGG_KVBM)
    pdbs = graphs.disruption_budgets(spec.serving.models[0], "dynamo")
    assert [p["metadata"]["name"] for p in pdbs] == ["llama-frontend", "llama-prefill", "llama-decode"]
    assert pdbs[1]["spec"] == {
        "maxUnavailable": 1,
        "selector": {
            "matchLabels": {
                "nvidia.com/dynamo-graph-deployment-name": "llama",
                "inference-ra.nvidia.com/role": "prefill",
            }
        },
    }
    # the role label is on the pods the PDB must select
    dgd = graph_for(spec)
    prefill = next(c for c in dgd["spec"]["components"] if c["name"] == "prefill")
    assert prefill["podTemplate"]["metadata"]["labels"]["inference-ra.nvidia.com/role"] == "prefill"


def test_platform_values_toggle_kai_grove_and_metrics() -> None:
    spec = make_spec(dynamo={"kaiScheduler": True, "grove": True})
    values = platform.platform_values(spec, "http://prom:9090")
    assert values["global"]["kai-scheduler"] == {"install": False, "enabled": True}
    assert values["global"]["grove"] == {"install": False, "enabled": True}
    assert values["global"]["nats"] == {"install": True}
    assert values["dynamo-operator"]["discoveryBackend"] == "kubernetes"
    assert values["dynamo-operator"]["dynamo"]["metrics"]["prometheusEndpoint"] == "http://prom:9090"
    off = platform.platform_values(make_spec(observability={"enabled": False}))
    assert "dynamo" not in off["dynamo-operator"]


@pytest.mark.skipif(not (UPSTREAM / "crds").is_dir(), reason=f"upstream data not found at {UPSTREAM}")
@pytest.mark.parametrize("stack", ["dev", "aws-h100", "ncp-ib"])
def test_shipped_stack_serving_objects_validate(stack: str) -> None:
    plan = synth(read_stack_file(stack))
    serving = [r for r in plan.resources if "inference-ra:serving:Serving" in r.urn]
    kinds = sorted({r.inputs.get("kind", r.type) for r in serving if r.custom})
    assert "DynamoGraphDeployment" in kinds and "PodDisruptionBudget" in kinds
    validator = Validator(plan.spec.cluster.kubernetes_version, UPSTREAM / "crds", UPSTREAM / "chart-values")
    findings = []
    for r in serving:
        if r.type == "kubernetes:helm.sh/v4:Chart":
            findings += validator.validate_chart(r.inputs)
        elif "apiVersion" in r.inputs:
            findings += validator.validate_object(r.inputs)
    assert [f.render() for f in findings] == []
    dgds = [r.inputs for r in serving if r.inputs.get("kind") == "DynamoGraphDeployment"]
    assert {d["metadata"]["name"] for d in dgds} == {m.name for m in plan.spec.serving.models}


def test_worker_memory_never_below_the_host_kv_tier() -> None:
    spec = make_spec(model=DISAGG_KVBM)
    model = spec.serving.models[0]
    cpu, mem = graphs.worker_host_resources(spec, model, "prefill", 1)
    assert (cpu, mem) == (18, 256 + graphs.WORKER_HOST_OVERHEAD_GI)  # 1 GPU's share (192 GiB) < the 288 GiB floor


def test_workers_load_the_optimized_checkpoint_or_engine() -> None:
    from serving import engines, optimization

    spec = make_spec(model={**DISAGG_KVBM, "optimization": {"quantize": {"format": "fp8"}}})
    model = spec.serving.models[0]
    w = model.workers()["prefill"]
    assert engines.load_path(model, w) == optimization.served_model_path(model)
    args = engines.vllm_args(model, "prefill", w, engines.EngineInputs(release=graphs.dynamo_release(spec)))
    assert args[args.index("--model") + 1].startswith("/models/") and args[args.index("--served-model-name") + 1] == (
        model.model
    )
    plain = make_spec(model=DISAGG_KVBM).serving.models[0]
    assert engines.load_path(plain, plain.workers()["prefill"]) == plain.model


def test_gated_pool_workers_select_accepted_nodes() -> None:
    from tests.conftest import shipped_plan

    dgd = next(r for r in shipped_plan("aws-h100").resources if r.type.endswith(":DynamoGraphDeployment"))
    workers = [c for c in dgd.inputs["spec"]["components"] if c["type"] in ("prefill", "decode")]
    assert workers and all(
        c["podTemplate"]["spec"]["nodeSelector"]
        == {"inference-ra.nvidia.com/pool": "h100", "inference-ra.nvidia.com/acceptance": "passed"}
        for c in workers
    )
