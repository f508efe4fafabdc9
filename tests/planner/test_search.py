"""The search: fewest GPUs, modes, infeasible SLOs, explanations."""

from __future__ import annotations

import pytest

from components.catalog import ARCHITECTURES, GPUS, NODE_TYPES
from serving.planner.search import Deployment, PlannerInputError, Target, Workload, evaluate, plan
from serving.planner.summary import summarize

T70 = Target(ARCHITECTURES["llama-3.3-70b"], GPUS["h100-sxm-80gb"], NODE_TYPES["p5.48xlarge"], "fp8", "bf16")
W = Workload(4096, 512, 500, 30, rps=4)


def test_issue_example_plans_llama_70b_fp8_on_h100() -> None:
    p = plan(T70, W)
    s = summarize(p)
    assert s["weightsBytes"] == 70_600_000_000 and s["kvBytesPerToken"] == 327_680
    assert s["meetsSlo"] and s["ttftMs"] <= 450 and s["itlMs"] <= 27
    assert s["gpus"] == s["tensorParallel"] * s["replicas"] + (s["prefillTensorParallel"] or 0) * (
        s["prefillReplicas"] or 0
    )
    assert s["nodes"] == 1 and s["costPerHour"] == pytest.approx(s["gpus"] * 55.04 / 8)
    # cost per million output tokens = $/h / (rps x osl x 3600) x 1e6
    assert s["costPerMillionTokens"] == pytest.approx(s["costPerHour"] / (4 * 512 * 3600) * 1e6, rel=1e-3)
    assert "binding constraint" in p.explanation


def test_the_chosen_deployment_is_the_fewest_gpus() -> None:
    best = plan(T70, W).estimate
    assert best is not None
    for tp in (1, 2, 4, 8):
        for n in range(1, 9):
            if tp * n < best.deployment.gpus:
                assert not evaluate(T70, Deployment("aggregated", tp, n), W).meets(W)


def test_one_replica_fewer_misses_the_slo() -> None:
    best = plan(T70, W).estimate
    assert best is not None and best.deployment.mode == "aggregated"
    d = best.deployment
    fewer = Deployment(d.mode, d.tp, d.replicas - 1) if d.replicas > 1 else Deployment(d.mode, d.tp // 2, 1)
    assert not evaluate(T70, fewer, W).meets(W)


def test_impossible_itl_explains_the_floor() -> None:
    p = plan(T70, Workload(4096, 512, 500, 2, rps=4))
    assert p.estimate is None
    assert "itl" in p.explanation and "fastest a single sequence decodes" in p.explanation


def test_disaggregated_only_when_asked() -> None:
    p = plan(T70, W, ("disaggregated",))
    assert p.estimate is not None and p.estimate.deployment.mode == "disaggregated"
    assert p.estimate.deployment.prefill_replicas >= 1


def test_disaggregated_prefill_must_hold_the_weights() -> None:
    e = evaluate(T70, Deployment("disaggregated", 4, 1, 1, 4), W)  # fp8 70B does not fit one H100 with a prompt
    assert e.saturated == "weights-do-not-fit"


def test_concurrency_closed_loop_finds_a_rate() -> None:
    w = Workload(2048, 256, 1000, 50, concurrency=32)
    e = evaluate(T70, Deployment("aggregated", 4, 1), w)
    assert e.rps > 0 and e.batch_per_replica == 32
    # Little's law for the closed loop: concurrency = rate x (TTFT + osl x ITL)
    assert pytest.approx(e.rps * (e.ttft_s + 256 * e.itl_s), rel=0.05) == 32


def test_overload_saturates_prefill() -> None:
    w = Workload(8192, 64, 5000, 200, rps=500)
    e = evaluate(T70, Deployment("aggregated", 8, 1), w)
    assert e.saturated == "prefill-throughput" and not e.meets(w)


@pytest.mark.parametrize(
    "kwargs",
    [{"rps": 1, "concurrency": 2}, {}, {"rps": 0}, {"concurrency": 0}],
)
def test_rejects_bad_workloads(kwargs: dict[str, float]) -> None:
    with pytest.raises(PlannerInputError):
        Workload(1024, 128, 500, 30, **kwargs)  # type: ignore[arg-type]
