"""Component tests: the performance and optimization layers on the offline engine, and the report section."""

from __future__ import annotations

from typing import Any

from components import constants as C
from components.catalog import IMAGES
from serving import benchmarks, optimization
from stacks.engine import Plan, synth
from stacks.report import render_report
from tests.planner.helpers import config, spec, stack_file


def jobs(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in plan.resources if r.type == "kubernetes:batch/v1:Job"}


def quantized_dev() -> dict:  # type: ignore[type-arg]
    cfg = config("dev")
    model = cfg["inference-ra:serving"]["models"][0]
    model.update({"weightsDtype": "fp8", "optimization": {"quantize": {"format": "fp8", "calibrationSamples": 256}}})
    return cfg


def test_benchmark_job_profiles_the_frontend_with_the_slo() -> None:
    plan = synth(stack_file(config("aws-h100"), "aws-h100"))
    job = jobs(plan)["llama-70b-aiperf"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][2]
    assert container["image"] == IMAGES["aiperf"]
    assert "http://llama-70b-frontend.dynamo.svc.cluster.local:8000" in script
    assert "--goodput 'time_to_first_token:500 inter_token_latency:30'" in script
    assert "--synthetic-input-tokens-mean 4096" in script and "--output-tokens-mean 512" in script
    for c in (1, 16, 64, 128):
        assert f"--concurrency {c} " in script and f"{benchmarks.RESULTS_DIR}/llama-70b/c{c}" in script
    assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    volume = job["spec"]["template"]["spec"]["volumes"][0]
    assert volume["persistentVolumeClaim"]["claimName"] == C.MODEL_CACHE_CLAIM


def test_no_benchmark_job_unless_enabled() -> None:
    assert not any(n.endswith("-aiperf") for n in jobs(synth(stack_file(config("dev"), "dev"))))


def test_quantize_job_writes_into_the_model_cache() -> None:
    plan = synth(stack_file(quantized_dev(), "dev"))
    job = jobs(plan)["llama-8b-quantize-fp8"]
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert c["image"] == IMAGES["modelopt"]
    assert env["SOURCE"] == "meta-llama/Llama-3.1-8B-Instruct" and env["QFORMAT"] == "fp8"
    assert env["OUTPUT"] == f"{C.MODEL_CACHE_MOUNT}/optimized/llama-8b-fp8" and env["CALIB_SAMPLES"] == "256"
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1  # 16 GB of BF16 weights fit one H100
    assert pod["nodeSelector"] == {C.POOL_LABEL: "h100"} and C.GPU_TOLERATION in pod["tolerations"]
    cm = next(
        r
        for r in plan.resources
        if r.type == "kubernetes:core/v1:ConfigMap" and r.inputs["metadata"]["name"] == optimization.SCRIPTS_CONFIGMAP
    )
    assert "mtq.quantize" in cm.inputs["data"]["modelopt_quantize.py"]
    job_res = next(r for r in plan.resources if r.name.endswith("llama-8b-quantize-fp8"))
    assert cm.urn in job_res.depends_on


def test_optimization_gpus_scale_with_the_model() -> None:
    s = spec(config("ncp-ib"))
    llama70 = next(m for m in s.serving.models if m.name == "llama-70b")
    # 141.2 GB of BF16 / (141 GB x 0.75) = 1.34 -> 2 H200s
    assert optimization.optimization_gpus(s, llama70) == 2


def test_engine_builds_chain_after_quantization() -> None:
    cfg = quantized_dev()
    model = cfg["inference-ra:serving"]["models"][0]
    model.update({"engine": "trtllm", "optimization": {"quantize": {"format": "fp8"}, "trtllmEngine": True}})
    model["kvCache"] = {"connector": "none"}
    plan = synth(stack_file(cfg, "dev"))
    names = jobs(plan)
    assert {"llama-8b-quantize-fp8", "llama-8b-trtllm-engine-tp1"} <= set(names)
    env = {
        e["name"]: e.get("value")
        for e in names["llama-8b-trtllm-engine-tp1"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["SOURCE"] == f"{C.MODEL_CACHE_MOUNT}/optimized/llama-8b-fp8" and env["TP"] == "1"
    quant = next(r for r in plan.resources if r.name.endswith("llama-8b-quantize-fp8"))
    engine = next(r for r in plan.resources if r.name.endswith("llama-8b-trtllm-engine-tp1"))
    assert quant.urn in engine.depends_on


def test_report_has_planner_and_cost_for_every_model() -> None:
    for name in ("dev", "aws-h100", "ncp-ib"):
        plan = synth(stack_file(config(name), name))
        text = render_report(plan)
        assert "## Capacity planner and cost" in text
        for model in plan.spec.serving.models:
            assert f"| {model.name} | " in text
        assert "| **total** |" in text and "per month at desired" in text


def test_report_cost_of_aws_stack_by_hand() -> None:
    text = render_report(synth(stack_file(config("aws-h100"), "aws-h100")))
    # 0 desired (a capacity block, scaled on its schedule) x 55.04 + FSx 24 TiB x 1099.51 GB x $0.600 / 730 h
    # + 500 GiB x 1.0737 GB x $0.08 / 730 h; at most 16 x 55.04 + the same storage
    fsx = 24 * 2**40 / 1e9 * 0.600 / 730
    prom = 500 * 2**30 / 1e9 * 0.08 / 730
    assert f"**{0 * 55.04 + fsx + prom:,.2f}**" in text
    assert f"**{16 * 55.04 + fsx + prom:,.2f}**" in text
