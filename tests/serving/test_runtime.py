"""Issue 17: graphs that do at run time what the spec promises. One block per item; each test asserts the values
the upstream reader needs (docs/serving.md names the reader of every field)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.rules import check_spec
from tests.serving.conftest import graph_for, make_spec

DISAGG = {
    "model": "meta-llama/Llama-3.1-70B-Instruct",
    "architecture": "llama-3.1-70b",
    "mode": "disaggregated",
    "worker": None,
    "prefill": {"tensorParallel": 2},
    "decode": {"tensorParallel": 4},
}
GB200 = {
    "cluster": {"provider": "existing", "name": "ncp", "kubernetesVersion": "1.33", "nodeOs": "ubuntu-24.04"},
    "network": {
        "fabric": {
            "type": "infiniband",
            "devices": ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"],
            "interfaces": ["ib0", "ib1", "ib2", "ib3"],
        }
    },
    "gpuPools": [
        {
            "name": "gb200",
            "gpu": "gb200",
            "instanceType": "gb200-nvl72-tray",
            "nodes": {"min": 18, "max": 18},
            "computeDomain": True,
        }
    ],
}


def comps(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in manifest["spec"]["components"]}


def main(component: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in component["podTemplate"]["spec"]["containers"] if c["name"] == "main")


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def env(component: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in main(component)["env"]}


def problems(spec: Any, name: str) -> list[str]:
    return [p.render() for p in check_spec(spec) if name in p.render()]


# ---------------------------------------------------------------------------------------------- 1. KV events
def test_kv_router_makes_aggregated_vllm_workers_publish_kv_events() -> None:
    args = main(comps(graph_for(make_spec()))["worker"])["args"]
    cfg = json.loads(flag(args, "--kv-events-config") or "null")
    assert cfg == {"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:5557", "enable_kv_cache_events": True}


def test_kv_router_disaggregated_prefill_publishes_and_decode_does_not() -> None:
    c = comps(graph_for(make_spec(model=DISAGG)))
    assert flag(main(c["prefill"])["args"], "--kv-events-config") is not None
    assert flag(main(c["decode"])["args"], "--kv-events-config") is None


def test_sglang_and_trtllm_publish_kv_events_with_their_own_flags() -> None:
    sg = main(comps(graph_for(make_spec(model={"engine": "sglang"})))["worker"])["args"]
    assert json.loads(flag(sg, "--kv-events-config") or "{}") == {
        "publisher": "zmq",
        "topic": "kv-events",
        "endpoint": "tcp://*:5557",
    }
    trt = main(comps(graph_for(make_spec(model={"engine": "trtllm"})))["worker"])["args"]
    assert "--publish-kv-events" in trt and "--kv-events-config" not in trt


def test_round_robin_router_publishes_no_kv_events() -> None:
    args = main(comps(graph_for(make_spec(model={"router": "round-robin"})))["worker"])["args"]
    assert "--kv-events-config" not in args


def test_rejects_kv_router_with_prefix_caching_switched_off() -> None:
    spec = make_spec(model={"worker": {"extraArgs": ["--no-enable-prefix-caching"]}})
    assert problems(spec, "kvCache") == [] and problems(spec, "extraArgs") == [
        "inference-ra:serving.models[0].worker.extraArgs: --no-enable-prefix-caching stops vllm from publishing the "
        "KV events the KV router scores prefix overlap from (got '--no-enable-prefix-caching'; drop it, or use "
        "router round-robin)"
    ]


def test_rejects_kv_router_with_an_engine_whose_release_cannot_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from components.catalog import dynamo

    old = dynamo.DYNAMO_RELEASES["1.4.0"]
    monkeypatch.setitem(dynamo.DYNAMO_RELEASES, "1.4.0", dataclasses.replace(old, kv_events=frozenset({"vllm"})))
    spec = make_spec(model={"engine": "sglang"})
    assert [p.path for p in check_spec(spec) if p.path.endswith(".router")] == ["serving.models[0].router"]


# ------------------------------------------------------------------------------------- 2. SGLang disaggregation
SGLANG_EFA = {"images": {"sglang-efa": "registry.example/sglang-runtime:1.4.0-efa"}}


def test_sglang_disaggregated_workers_listen_on_all_interfaces_with_a_bootstrap_port() -> None:
    c = comps(graph_for(make_spec(model={**DISAGG, "engine": "sglang"}, dynamo=SGLANG_EFA)))
    for role in ("prefill", "decode"):
        args = main(c[role])["args"]
        assert flag(args, "--host") == "0.0.0.0"
        assert flag(args, "--disaggregation-bootstrap-port") == "8998"
    custom = make_spec(model={**DISAGG, "engine": "sglang", "disaggregationBootstrapPort": 12345}, dynamo=SGLANG_EFA)
    assert flag(main(comps(graph_for(custom))["prefill"])["args"], "--disaggregation-bootstrap-port") == "12345"


def test_rejects_bootstrap_port_on_an_engine_that_does_not_read_it() -> None:
    spec = make_spec(model={**DISAGG, "disaggregationBootstrapPort": 12345})
    assert [p.path for p in check_spec(spec) if "Bootstrap" in p.path] == [
        "serving.models[0].disaggregationBootstrapPort"
    ]


# ------------------------------------------------------------------------------------------ 3. NIXL over EFA
def test_vllm_on_efa_selects_the_libfabric_nixl_backend_in_every_nixl_connector() -> None:
    c = comps(graph_for(make_spec(model={**DISAGG, "kvCache": {"connector": "kvbm", "cpuGi": 100}})))
    decode = json.loads(flag(main(c["decode"])["args"], "--kv-transfer-config") or "{}")
    assert decode["kv_connector_extra_config"] == {"backends": ["LIBFABRIC"]}
    prefill = json.loads(flag(main(c["prefill"])["args"], "--kv-transfer-config") or "{}")
    nixl = [x for x in prefill["kv_connector_extra_config"]["connectors"] if x["kv_connector"] == "NixlConnector"]
    assert nixl[0]["kv_connector_extra_config"] == {"backends": ["LIBFABRIC"]}


def test_sglang_and_trtllm_on_efa_select_libfabric_through_their_environment() -> None:
    images = {"sglang-efa": "registry.example/sglang-runtime:1.4.0-efa", "trtllm-efa": "registry.example/trt:1.4.0-efa"}
    sg = comps(graph_for(make_spec(model={**DISAGG, "engine": "sglang"}, dynamo={"images": images})))
    assert env(sg["prefill"])["SGLANG_DISAGGREGATION_NIXL_BACKEND"] == "LIBFABRIC"
    trt = comps(graph_for(make_spec(model={**DISAGG, "engine": "trtllm"}, dynamo={"images": images})))
    assert env(trt["decode"])["TRTLLM_NIXL_KVCACHE_BACKEND"] == "LIBFABRIC"
    assert main(trt["decode"])["image"] == images["trtllm-efa"]


def test_no_nixl_backend_variable_without_a_reader() -> None:
    e = env(comps(graph_for(make_spec(model=DISAGG)))["prefill"])
    assert not [k for k in e if k.startswith("DYN_KVBM_NIXL_BACKEND")]  # kvbm 1.4.0 reads no such variable


def test_efa_disaggregated_workers_run_the_efa_image_privileged() -> None:
    c = comps(graph_for(make_spec(model=DISAGG)))
    for role in ("prefill", "decode"):
        assert main(c[role])["image"] == "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0-efa"
        # privileged runs as root (components/podsecurity.py: capabilities reach root processes only)
        assert main(c[role])["securityContext"] == {
            "capabilities": {"add": ["IPC_LOCK"]},
            "privileged": True,
            "runAsNonRoot": False,
            "runAsUser": 0,
        }
    assert main(c["frontend"])["image"] == "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"
    override = make_spec(model=DISAGG, dynamo={"images": {"vllm-efa": "registry.example/vllm:efa-1"}})
    assert main(comps(graph_for(override))["prefill"])["image"] == "registry.example/vllm:efa-1"


def test_aggregated_single_node_workers_on_efa_are_not_privileged() -> None:
    worker = main(comps(graph_for(make_spec()))["worker"])
    assert worker["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"add": ["IPC_LOCK"], "drop": ["ALL"]},
        "runAsNonRoot": False,
        "runAsUser": 0,
    }
    assert worker["image"] == "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"


def test_rejects_efa_fabric_use_without_an_efa_image_for_the_engine() -> None:
    spec = make_spec(model={**DISAGG, "engine": "sglang"})
    assert [p.path for p in check_spec(spec) if "EFA-enabled" in p.message] == ["serving.models[0].engine"]


def test_policy_exempts_exactly_the_efa_nixl_workers() -> None:
    from policies.registry import RuleContext
    from policies.security import no_privileged_pods

    ctx = RuleContext(config={"allowedNamespaces": ["gpu-operator"]})
    dgd = graph_for(make_spec(model=DISAGG))
    assert list(no_privileged_pods("kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment", dgd, ctx)) == []
    # the same privileged container without EFA interfaces, or in a frontend, is still flagged
    frontend = next(c for c in dgd["spec"]["components"] if c["name"] == "frontend")
    main(frontend)["securityContext"] = {"privileged": True}
    found = list(no_privileged_pods("kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment", dgd, ctx))
    assert len(found) == 1 and "spec.components[0]" in found[0]


# ------------------------------------------------------------------------------- 4. EFA interfaces per GPU
def test_efa_interfaces_follow_the_pods_gpus() -> None:
    c = comps(graph_for(make_spec(model=DISAGG)))  # p5.48xlarge: 32 EFA for 8 GPUs, 4 per GPU
    assert main(c["prefill"])["resources"]["limits"]["vpc.amazonaws.com/efa"] == "8"
    assert main(c["decode"])["resources"]["limits"]["vpc.amazonaws.com/efa"] == "16"
    assert main(c["decode"])["resources"]["requests"]["vpc.amazonaws.com/efa"] == "16"


def test_pods_of_a_pool_fit_its_nodes_by_efa() -> None:
    assert problems(make_spec(model=DISAGG), "GPUs idle") == []


def test_rejects_pods_that_strand_gpus_by_efa_interfaces() -> None:
    p4d = [{"name": "h100", "gpu": "a100-sxm-40gb", "instanceType": "p4d.24xlarge", "nodes": {"min": 1, "max": 4}}]
    spec = make_spec(gpuPools=p4d, model={"architecture": "llama-3.1-8b"})
    assert problems(spec, "GPUs idle") == [
        "inference-ra:serving.models[0].worker.tensorParallel: a 1-GPU pod requests 1 of a p4d.24xlarge node's 4 "
        "vpc.amazonaws.com/efa: 4 such pods fit a node, leaving 4 of its 8 GPUs idle (got 1; use at least 2 GPUs "
        "per pod)"
    ]


# ------------------------------------------------------------------------------------------ 5. GB200 NVLink
def test_gb200_workers_claim_the_compute_domain_channel() -> None:
    spec = make_spec(**GB200, model={**DISAGG, "pool": "gb200", "architecture": "llama-3.1-70b"})
    for role, comp in comps(graph_for(spec)).items():
        if role not in ("prefill", "decode"):
            assert "resourceClaims" not in comp["podTemplate"]["spec"]
            continue
        pod = comp["podTemplate"]["spec"]
        assert pod["resourceClaims"] == [
            {"name": "compute-domain-channel", "resourceClaimTemplateName": "gb200-nvlink-channel"}
        ]
        assert main(comp)["resources"]["claims"] == [{"name": "compute-domain-channel"}]


def test_serving_reads_the_compute_domains_of_the_compute_layer() -> None:
    from tests.conftest import shipped_plan

    dgd = next(
        r.inputs
        for r in shipped_plan("ncp-ib").resources
        if r.type.endswith(":DynamoGraphDeployment") and r.inputs["metadata"]["name"] == "deepseek-r1"
    )
    decode = next(c for c in dgd["spec"]["components"] if c["name"] == "decode")
    assert decode["podTemplate"]["spec"]["resourceClaims"][0]["resourceClaimTemplateName"] == "gb200-nvlink-channel"


# ------------------------------------------------------------------------------------------------ 6. KEDA
MIXED = {"model": 'Org/Llama-3.1-8B-Instruct"v2', "autoscaling": {"mode": "keda", "maxReplicas": 2}}


def test_keda_queries_keep_the_served_model_names_case_and_escape_it() -> None:
    from serving import keda

    spec = make_spec(model=MIXED)
    m = spec.serving.models[0]
    (obj,) = keda.scaled_objects(spec, m, "http://prom:9090", {"worker": "worker"}, m.model)
    queries = [t["metadata"]["query"] for t in obj["spec"]["triggers"]]
    assert all('model="Org/Llama-3.1-8B-Instruct\\"v2"' in q for q in queries)


def test_keda_queries_use_only_catalogued_frontend_metrics() -> None:
    import re

    from components.observability.metrics import DYNAMO_FRONTEND
    from serving import keda

    spec = make_spec(model=MIXED)
    m = spec.serving.models[0]
    (obj,) = keda.scaled_objects(spec, m, "http://prom:9090", {"worker": "worker"}, m.model)
    for trigger in obj["spec"]["triggers"]:
        metrics = set(re.findall(r"\b(dynamo_[a-z_]+)\{", trigger["metadata"]["query"]))
        assert metrics and metrics <= DYNAMO_FRONTEND


def test_keda_targets_what_serving_outputs_report() -> None:
    from serving import keda

    spec = make_spec(model=MIXED)
    m = spec.serving.models[0]
    objs = keda.scaled_objects(spec, m, "http://prom:9090", {"worker": "Worker-A"}, "Served/Name")
    assert [o["spec"]["scaleTargetRef"]["name"] for o in objs] == ["llama-worker-a"]
    assert 'model="Served/Name"' in objs[0]["spec"]["triggers"][0]["metadata"]["query"]


def test_keda_layer_reads_serving_outputs_on_the_engine() -> None:
    from tests.conftest import shipped_plan

    plan = shipped_plan("ncp-ib")
    scaled = [r.inputs for r in plan.resources if r.inputs.get("kind") == "ScaledObject"]
    dgd = next(
        r.inputs
        for r in plan.resources
        if r.inputs.get("kind") == "DynamoGraphDeployment" and r.inputs["metadata"]["name"] == "llama-70b"
    )
    adapters = {f"llama-70b-{c['name']}" for c in dgd["spec"]["components"] if "scalingAdapter" in c}
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled} == adapters
    assert all(
        'model="meta-llama/Llama-3.1-70B-Instruct"' in t["metadata"]["query"]
        for s in scaled
        for t in s["spec"]["triggers"]
    )


# -------------------------------------------------------------------------------------------- 7. versions
def test_rejects_a_dynamo_version_outside_the_catalog() -> None:
    spec = make_spec(dynamo={"version": "1.3.0"})
    assert [p.render() for p in check_spec(spec) if p.path == "serving.dynamo.version"] == [
        "inference-ra:serving.dynamo.version: is not a Dynamo release in the catalog (components/catalog/dynamo.py) "
        "(got '1.3.0'; use one of ['1.4.0'])"
    ]


def test_images_chart_and_api_follow_the_release(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from components.catalog import dynamo
    from serving import graphs

    base = dynamo.DYNAMO_RELEASES["1.4.0"]
    fake = dataclasses.replace(
        base,
        version="9.9.9",
        chart_version="9.9.9",
        images={k: v.replace("1.4.0", "9.9.9") for k, v in base.images.items()},
        flags={**base.flags, "trtllm.model": "--model-path"},
    )
    monkeypatch.setitem(dynamo.DYNAMO_RELEASES, "9.9.9", fake)
    spec = make_spec(dynamo={"version": "9.9.9"}, model={"engine": "trtllm"})
    c = comps(graph_for(spec))
    assert main(c["worker"])["image"] == "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:9.9.9"
    assert main(c["worker"])["args"][0] == "--model-path"
    assert graphs.dynamo_release(spec).chart().version == "9.9.9"


def test_the_release_names_its_bundled_engines() -> None:
    from components.catalog.dynamo import release

    r = release("1.4.0")
    assert (r.engine_versions["vllm"], r.engine_versions["sglang"], r.engine_versions["tensorrt-llm"]) == (
        "0.26.0",
        "0.5.16",
        "1.3.0rc22",
    )
    with pytest.raises(ValueError, match=r"supported: 1\.4\.0"):
        release("0.1.0")


# ------------------------------------------------------------------------------------ 8. Inference Gateway
def test_gateway_path_is_rendered_like_upstreams_gaie_examples() -> None:
    from components.catalog.dynamo import release
    from serving import routing

    spec = make_spec(model=DISAGG, routing={"inferenceGateway": True})
    c = comps(graph_for(spec))
    assert "frontend" not in c  # workers carry the frontend; the operator's `<graph>-pool` routes to them
    epp = c["epp"]
    assert main(epp)["image"] == "nvcr.io/nvidia/ai-dynamo/epp-image:1.4.0"
    cfg = epp["eppConfig"]["config"]
    assert routing.plugin_types(cfg) <= release("1.4.0").epp_plugins
    assert [p["name"] for p in cfg["schedulingProfiles"]] == ["prefill", "decode"]
    for role in ("prefill", "decode"):
        assert c[role]["frontendSidecar"] == "sidecar-frontend"
        side = next(x for x in c[role]["podTemplate"]["spec"]["containers"] if x["name"] == "sidecar-frontend")
        assert side["args"][-2:] == ["--router-mode", "direct"]


def test_gateway_layer_adds_no_inference_pool_of_its_own() -> None:
    import copy
    import dataclasses

    from components.loader import read_stack_file
    from stacks.engine import synth

    stack = read_stack_file("dev")
    config = copy.deepcopy(stack.config)
    config["inference-ra:serving"]["routing"] = {"inferenceGateway": True}
    plan = synth(dataclasses.replace(stack, config=config))
    kinds = {r.inputs.get("kind") for r in plan.resources}
    assert "DynamoGraphDeployment" in kinds and "InferencePool" not in kinds


def test_rejects_benchmark_behind_the_gateway() -> None:
    spec = make_spec(model={"benchmark": {"enabled": True}}, routing={"inferenceGateway": True})
    assert [p.path for p in check_spec(spec) if "benchmark" in p.path] == ["serving.models[0].benchmark.enabled"]


# ---------------------------------------------------------------------------------------- 9. GPU Operator
def test_gpu_operator_values_follow_the_fabric() -> None:
    from gpu_nodepools.operator import gpu_operator_values

    spec = make_spec(
        cluster={"provider": "existing", "name": "ncp-east", "kubernetesVersion": "1.33", "nodeOs": "ubuntu-24.04"},
        network={
            "fabric": {
                "type": "infiniband",
                "devices": [f"mlx5_{i}" for i in range(8)],
                "interfaces": [f"ib{i}" for i in range(8)],
                "driver": "host",
                "nfd": "network-operator",
            }
        },
        gpuPools=[{"name": "h100", "gpu": "h100-sxm-80gb", "instanceType": "dgx-h100", "nodes": {"min": 1, "max": 2}}],
    )
    values = gpu_operator_values(spec)
    assert values["nfd"] == {"enabled": False}
    assert values["driver"]["rdma"] == {"enabled": True, "useHostMofed": True}


# ---------------------------------------------------------------------------------------- 10. engine knobs
def test_block_size_is_left_to_each_engine_unless_set() -> None:
    for engine, name in (("vllm", "--block-size"), ("sglang", "--page-size"), ("trtllm", "--kv-block-size")):
        args = main(comps(graph_for(make_spec(model={"engine": engine})))["worker"])["args"]
        assert name not in args
        args = main(comps(graph_for(make_spec(model={"engine": engine, "blockSize": 64})))["worker"])["args"]
        assert flag(args, name) == "64"


def test_trtllm_free_memory_fraction_is_the_same_kv_budget_as_gpu_memory_utilization() -> None:
    args = main(comps(graph_for(make_spec(model={"engine": "trtllm"})))["worker"])["args"]
    # Llama-3.1-8B bf16 on one H100 80GB: 16.06 GB weights; (0.9 x 80 - 16.06) / (80 - 16.06) = 0.8749
    assert flag(args, "--free-gpu-memory-fraction") == "0.875"


def test_vllm_disaggregated_kvbm_disables_the_hybrid_kv_cache_manager_on_both_roles() -> None:
    c = comps(graph_for(make_spec(model={**DISAGG, "kvCache": {"connector": "kvbm", "cpuGi": 100}})))
    assert all("--disable-hybrid-kv-cache-manager" in main(c[r])["args"] for r in ("prefill", "decode"))
    plain = comps(graph_for(make_spec(model=DISAGG)))
    assert "--disable-hybrid-kv-cache-manager" not in main(plain["prefill"])["args"]


def test_trtllm_prefill_disables_the_overlap_scheduler() -> None:
    images = {"trtllm-efa": "registry.example/trt:1.4.0-efa"}
    c = comps(graph_for(make_spec(model={**DISAGG, "engine": "trtllm"}, dynamo={"images": images})))
    prefill = json.loads(flag(main(c["prefill"])["args"], "--override-engine-args") or "{}")
    decode = json.loads(flag(main(c["decode"])["args"], "--override-engine-args") or "{}")
    assert prefill["disable_overlap_scheduler"] is True and "disable_overlap_scheduler" not in decode


def test_topology_aware_puts_the_constraint_into_the_graph() -> None:
    spec = make_spec(
        **{**GB200, "network": {**GB200["network"], "topology": {"enabled": True}}},
        model={**DISAGG, "pool": "gb200", "decode": {"tensorParallel": 8, "multinode": True}},
        dynamo={"grove": True},
        scheduling={"topologyAware": True},
    )
    dgd = graph_for(spec)
    assert dgd["spec"]["topologyConstraint"] == {"clusterTopologyName": "inference-ra"}
    c = comps(dgd)
    assert c["decode"]["topologyConstraint"] == {"packDomain": "nvlink-domain"}
    assert "topologyConstraint" not in c["prefill"]  # a single-node replica has nothing to pack


def test_rejects_topology_aware_multinode_without_a_topology_binding() -> None:
    spec = make_spec(
        model={**DISAGG, "decode": {"tensorParallel": 16, "multinode": True}},
        dynamo={"grove": True},
        scheduling={"topologyAware": True},
    )
    assert [p.path for p in check_spec(spec) if "ClusterTopologyBinding" in p.message] == ["scheduling.topologyAware"]
