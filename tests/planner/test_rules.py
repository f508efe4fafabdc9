"""Rules of the performance layer: a passing and a failing case each."""

from __future__ import annotations

import pytest

from components.loader import SpecError
from tests.planner.helpers import config, spec


def problems(cfg: dict) -> list[str]:  # type: ignore[type-arg]
    try:
        spec(cfg)
    except SpecError as exc:
        return [p.render() for p in exc.problems]
    return []


def test_shipped_stacks_pass() -> None:
    for name in ("dev", "aws-h100", "ncp-ib"):
        assert problems(config(name)) == []


def test_rejects_price_override_of_unknown_node_type() -> None:
    cfg = config("aws-h100")
    cfg["inference-ra:policy"]["prices"] = {"nodeHourUsd": {"p9.huge": 1.0}, "storageGbMonthUsd": {"tape": 1.0}}
    found = problems(cfg)
    assert any("policy.prices.nodeHourUsd.p9.huge: names no node type" in p for p in found)
    assert any("policy.prices.storageGbMonthUsd.tape: names no storage price" in p for p in found)


def test_rejects_negative_price() -> None:
    cfg = config("aws-h100")
    cfg["inference-ra:policy"]["prices"] = {"nodeHourUsd": {"p5.48xlarge": -1}}
    assert any("cannot be negative" in p for p in problems(cfg))


def test_accepts_fp8_quantization_served_as_fp8() -> None:
    cfg = config("dev")
    model = cfg["inference-ra:serving"]["models"][0]
    model.update({"weightsDtype": "fp8", "optimization": {"quantize": {"format": "fp8"}}})
    assert problems(cfg) == []


def test_rejects_quantization_served_at_another_dtype() -> None:
    cfg = config("dev")
    cfg["inference-ra:serving"]["models"][0]["optimization"] = {"quantize": {"format": "fp8"}}
    assert any("serving.models[0].weightsDtype: the model is quantized to fp8 but served as bf16" in p
               for p in problems(cfg))  # fmt: skip


def test_rejects_nvfp4_on_hopper() -> None:
    cfg = config("dev")
    model = cfg["inference-ra:serving"]["models"][0]
    model.update({"weightsDtype": "nvfp4", "optimization": {"quantize": {"format": "nvfp4"}}})
    assert any("NVFP4 needs Blackwell" in p for p in problems(cfg))


def test_rejects_trtllm_engine_for_vllm() -> None:
    cfg = config("dev")
    cfg["inference-ra:serving"]["models"][0]["optimization"] = {"trtllmEngine": True}
    assert any("optimization.trtllmEngine: a TensorRT-LLM engine is only used by engine trtllm" in p
               for p in problems(cfg))  # fmt: skip


def test_rejects_benchmark_without_slo() -> None:
    cfg = config("dev")
    model = cfg["inference-ra:serving"]["models"][0]
    del model["slo"]
    model["benchmark"] = {"enabled": True}
    assert any("benchmark.enabled: a benchmark scores goodput" in p for p in problems(cfg))


@pytest.mark.parametrize("stack", ["dev"])
def test_accepts_benchmark_with_slo(stack: str) -> None:
    cfg = config(stack)
    cfg["inference-ra:serving"]["models"][0]["benchmark"] = {"enabled": True, "concurrency": [1, 4]}
    assert problems(cfg) == []


def test_rule_weights_per_gpu_replicate_the_non_expert_part_on_every_dp_rank() -> None:
    """weights-fit-hbm and the KV rules count what the planner counts: DeepSeek-R1 FP8 at TP1 x DP8 with expert
    parallelism holds its attention/shared weights whole on every GPU and 1/8 of the routed experts (~98 GB), not
    1/8 of everything (84 GB, what the rule counted before)."""
    from components.catalog import ARCHITECTURES
    from components.rules.spine import weights_per_gpu_bytes
    from components.spec.serving import WorkerSpec
    from serving.planner.model import Parallel
    from serving.planner.model import weights_per_gpu_bytes as planner_weights

    s = spec(config("ncp-ib"))
    m = s.serving.models[0].model_copy(update={"architecture": "deepseek-r1", "weights_dtype": "fp8"})
    w = WorkerSpec(tensor_parallel=1, data_parallel=8, expert_parallel=True)
    r1 = ARCHITECTURES["deepseek-r1"]
    assert weights_per_gpu_bytes(s, m, w) == int(planner_weights(r1, "fp8", Parallel(tp=1, dp=8, ep=True)))
    assert 97e9 < weights_per_gpu_bytes(s, m, w) < 99e9  # type: ignore[operator]
