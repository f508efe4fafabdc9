"""Fit the planner's efficiency factors to measurements of bench/calibrate_h100.py and report the ratios.

Decode points fit (weights_bandwidth, kv_bandwidth, decode_compute); prefill points then fit prefill_compute
with the fitted weights bandwidth. The objective is the sum of squared log(prediction / measurement), so a 10%
miss weighs the same at 7 ms as at 500 ms. Search: a coarse grid, then coordinate refinement; no dependencies.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from components.catalog import ARCHITECTURES, GPUS
from serving.planner import model as m

ARCH = "llama-3.1-8b"


def predict_decode(eff: m.Efficiency, gpu_key: str, batch: int, context: int) -> float:
    return m.decode_step_time(ARCHITECTURES[ARCH], GPUS[gpu_key], batch, context, 1, "bf16", "bf16", eff)


def predict_prefill(eff: m.Efficiency, gpu_key: str, length: int) -> float:
    return m.prefill_time(ARCHITECTURES[ARCH], GPUS[gpu_key], length, 1, "bf16", eff)


def _loss(eff: m.Efficiency, points: Sequence[tuple[Callable[[m.Efficiency], float], float]]) -> float:
    return sum(math.log(f(eff) / measured) ** 2 for f, measured in points)


def _fit(
    base: m.Efficiency, names: Sequence[str], points: Sequence[tuple[Callable[[m.Efficiency], float], float]]
) -> m.Efficiency:
    grid = [0.30 + 0.05 * i for i in range(15)]  # 0.30 .. 1.00
    best = min(
        (
            replace(base, **dict(zip(names, values, strict=True)))
            for values in itertools.product(grid, repeat=len(names))
        ),
        key=lambda e: _loss(e, points),
    )
    step = 0.025
    while step > 1e-4:
        improved = False
        for name in names:
            for delta in (-step, step):
                value = getattr(best, name) + delta
                if not 0.05 <= value <= 1.0:
                    continue
                trial = replace(best, **{name: value})
                if _loss(trial, points) < _loss(best, points):
                    best, improved = trial, True
        if not improved:
            step /= 2
    return best


def fit(results: dict[str, Any], gpu_key: str = "h100-sxm-80gb") -> m.Efficiency:
    decode = [
        ((lambda e, b=d["batch"], c=d["context"]: predict_decode(e, gpu_key, b, c)), d["median_ms"] / 1e3)
        for d in results["decode"]
    ]
    eff = _fit(m.CALIBRATED, ("weights_bandwidth", "kv_bandwidth", "decode_compute"), decode)
    prefill = [
        ((lambda e, n=p["length"]: predict_prefill(e, gpu_key, n)), p["median_ms"] / 1e3) for p in results["prefill"]
    ]
    return _fit(eff, ("prefill_compute",), prefill)


def ratios(results: dict[str, Any], eff: m.Efficiency, gpu_key: str = "h100-sxm-80gb") -> list[dict[str, Any]]:
    rows = []
    for d in results["decode"]:
        pred = predict_decode(eff, gpu_key, d["batch"], d["context"]) * 1e3
        row = {"kind": "decode", "batch": d["batch"], "context": d["context"], "measured_ms": d["median_ms"]}
        rows.append({**row, "predicted_ms": pred, "ratio": pred / d["median_ms"]})
    for p in results["prefill"]:
        pred = predict_prefill(eff, gpu_key, p["length"]) * 1e3
        row = {"kind": "prefill", "batch": 1, "context": p["length"], "measured_ms": p["median_ms"]}
        rows.append({**row, "predicted_ms": pred, "ratio": pred / p["median_ms"]})
    return rows


def fit_report(results: dict[str, Any], gpu_key: str = "h100-sxm-80gb", markdown: bool = False) -> str:
    fitted = fit(results, gpu_key)
    names = ("prefill_compute", "decode_compute", "weights_bandwidth", "kv_bandwidth")
    lines = [
        f"GPU: {results['gpu']} (catalog {gpu_key}); {results['date']}; torch {results['torch']}",
        "fitted: " + ", ".join(f"{k}={getattr(fitted, k):.3f}" for k in names),
        "shipped: " + ", ".join(f"{k}={getattr(m.CALIBRATED, k):.3f}" for k in names),
        "",
    ]
    shipped = {(r["kind"], r["batch"], r["context"]): r for r in ratios(results, m.CALIBRATED, gpu_key)}
    if markdown:
        lines += [
            "| pass | batch | context / length | measured ms | predicted ms (shipped) | ratio "
            "| predicted ms (refit) | ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    worst = 0.0
    for r in ratios(results, fitted, gpu_key):
        s = shipped[(r["kind"], r["batch"], r["context"])]
        worst = max(worst, abs(s["ratio"] - 1))
        if markdown:
            lines.append(
                f"| {r['kind']} | {r['batch']} | {r['context']} | {r['measured_ms']:.2f} | {s['predicted_ms']:.2f} | "
                f"{s['ratio']:.3f} | {r['predicted_ms']:.2f} | {r['ratio']:.3f} |"
            )
        else:
            lines.append(
                f"{r['kind']:8s} b={r['batch']:4d} n={r['context']:6d} measured {r['measured_ms']:8.2f} ms  "
                f"shipped {s['predicted_ms']:8.2f} ({s['ratio']:.3f})  "
                f"refit {r['predicted_ms']:8.2f} ({r['ratio']:.3f})"
            )
    lines += ["", f"worst |shipped/measured - 1| = {worst:.1%}"]
    return "\n".join(lines) + "\n"
