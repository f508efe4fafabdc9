"""Burn-in report logic: checks, verdict, summary, exit codes; and the real reports recorded in docs/."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gpu_nodepools import burnin
from gpu_nodepools.thresholds import thresholds_document

RUNS = Path(__file__).resolve().parents[2] / "docs" / "acceptance-runs"
H100 = thresholds_document("h100-sxm-80gb", 2)


def gpu(index: int, tflops: float = 680.0, tbps: float = 3.0, err: float = 1.7e-3, name: str = "") -> dict:
    return {
        "index": index,
        "name": name or "NVIDIA H100 80GB HBM3",
        "gemm": {"relErr": err, "medianTflops": tflops},
        "hbm": {"exact": True, "medianTBps": tbps},
    }


def allreduce(busbw: float, exact: bool = True) -> dict:
    return {
        "ranks": 2,
        "exact": exact,
        "sizes": [{"bytes": 16 << 20, "busbwGBps": 1.0}, {"bytes": 1 << 30, "busbwGBps": busbw}],
    }


def statuses(results: dict[str, Any], expect: int | None = 2) -> dict[str, str]:
    return {c["name"]: c["status"] for c in burnin.evaluate(results, H100, expect)}


def test_healthy_two_gpu_node_passes() -> None:
    checks = burnin.evaluate({"gpus": [gpu(0), gpu(1)], "allreduce": allreduce(330.0)}, H100, 2)
    assert burnin.verdict(checks) == "passed"
    assert {c["status"] for c in checks} == {"pass"}
    busbw = next(c for c in checks if c["name"] == "allreduce-busbw")
    assert busbw["value"] == 330.0 and busbw["min"] == 270.0  # the largest size is the one compared


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        (lambda r: r["gpus"][1]["gemm"].update(medianTflops=590.0), "gpu1-gemm-bf16"),
        (lambda r: r["gpus"][0]["gemm"].update(relErr=float("nan")), "gpu0-gemm-correct"),
        (lambda r: r["gpus"][0]["gemm"].update(relErr=0.05), "gpu0-gemm-correct"),
        (lambda r: r["gpus"][0]["hbm"].update(medianTBps=2.4), "gpu0-hbm-copy"),
        (lambda r: r["gpus"][0]["hbm"].update(exact=False), "gpu0-hbm-copy-exact"),
        (lambda r: r["gpus"][1].update(name="NVIDIA H200"), "gpu1-model"),
        (lambda r: r["allreduce"].update(exact=False), "allreduce-correct"),
        (lambda r: r["allreduce"]["sizes"][1].update(busbwGBps=200.0), "allreduce-busbw"),
        (lambda r: r["gpus"].pop(), "gpu-count"),
    ],
)
def test_rejects_a_degraded_node(change: Any, failing: str) -> None:
    results = {"gpus": [gpu(0), gpu(1)], "allreduce": allreduce(330.0)}
    change(results)
    checks = burnin.evaluate(results, H100, 2)
    assert {c["name"] for c in checks if c["status"] == "fail"} == {failing}
    assert burnin.verdict(checks) == "failed"


def test_single_gpu_skips_allreduce_with_reason() -> None:
    s = statuses({"gpus": [gpu(0)], "allreduce": None}, expect=1)
    assert s["allreduce-busbw"] == "skip" and "allreduce-correct" not in s
    checks = burnin.evaluate({"gpus": [gpu(0)], "allreduce": None}, H100, 1)
    assert "no peer" in next(c["detail"] for c in checks if c["status"] == "skip")


def test_nothing_proven_is_not_a_pass() -> None:
    assert burnin.verdict([{"name": "x", "status": "skip", "detail": ""}]) == "failed"


def test_summary_holds_the_weakest_figures() -> None:
    results = {"gpus": [gpu(0, tflops=700), gpu(1, tflops=650, tbps=2.9)], "allreduce": allreduce(330.0)}
    report = {"date": "d", "results": results, "checks": burnin.evaluate(results, H100, 2)}
    report["verdict"] = burnin.verdict(report["checks"])
    s = burnin.summary(report)
    assert (s["minGemmTflops"], s["minHbmTBps"], s["busbwGBps"], s["failed"]) == (650.0, 2.9, 330.0, [])


def test_main_without_a_gpu_reports_an_error_not_a_pass(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code = burnin.main(["--gpu", "h100-sxm-80gb", "--report", str(out)])
    report = json.loads(out.read_text())
    assert code == burnin.EXIT_ERROR and report["verdict"] == "error" and "checks" not in report


def test_nvlink_multicast_is_forced_off() -> None:
    assert burnin.NO_MULTICAST_ENV["NCCL_NVLS_ENABLE"] == "0"


# ---- the real runs of docs/acceptance.md, re-judged with today's thresholds --------------------------------------

RECORDED = {
    "burnin-x1.json": ("h100-sxm-80gb", 1, "passed"),
    "burnin-x2.json": ("h200-sxm-141gb", 2, "passed"),
    "burnin-x4h200.json": ("h200-sxm-141gb", 4, "passed"),
    "burnin-x4-h200-as-h100.json": ("h100-sxm-80gb", 4, "failed"),  # H200s judged as H100s: the model check
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_recorded_runs_keep_their_verdict(name: str) -> None:
    gpu_key, gpus, expected = RECORDED[name]
    report = json.loads((RUNS / name).read_text())
    checks = burnin.evaluate(report["results"], thresholds_document(gpu_key, gpus), gpus)
    assert burnin.verdict(checks) == report["verdict"] == expected
    failed = {c["name"] for c in checks if c["status"] == "fail"}
    assert all(n.endswith("-model") for n in failed), failed  # every measured figure clears today's pass lines


def test_recorded_h100_single_gpu_figures() -> None:
    g = json.loads((RUNS / "burnin-x1.json").read_text())["results"]["gpus"][0]
    assert g["name"] == "NVIDIA H100 80GB HBM3"
    assert 593.4 <= g["gemm"]["medianTflops"] <= 989 and 2.512 <= g["hbm"]["medianTBps"] <= 3.35


def test_copy_of_results_is_not_mutated() -> None:
    results = {"gpus": [gpu(0)], "allreduce": None}
    before = copy.deepcopy(results)
    burnin.evaluate(results, H100, 1)
    assert results == before
