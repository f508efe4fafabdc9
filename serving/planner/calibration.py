"""Fit the planner's efficiency factors to measurements of bench/calibrate.py and report the ratios.

A results file holds runs (one per weight dtype, TP degree and communication: `local` = one TP rank's shard alone
on one GPU, `nccl` = a TP group with NCCL all-reduces), each with decode and prefill points, over a few layers of a
model's shape. Every point is predicted by the planner's own functions on an Architecture of exactly the layers
measured (serving/planner/model.py); a `local` point leaves out the all-reduces, an `nccl` point includes them.

Fit order: BF16 decode points fit (weights_bandwidth, kv_bandwidth, decode_compute); BF16 prefill points then fit
prefill_compute; FP8 points fit fp8_compute (the FP8 GEMMs' share of the FP8 peak relative to BF16's share of the
BF16 peak); NCCL points, where there are any, fit (allreduce_latency_s, link_efficiency). The objective is the sum
of squared log(prediction / measurement), so a 10% miss weighs the same at 1 ms as at 400 ms. Search: a coarse
grid, then coordinate refinement; no dependencies. The H100 results of the first calibration (bench/results/
h100-2026-11-27.json, Llama-3.1-8B, all 32 layers, BF16, TP1) have no runs: they read as one local BF16 TP1 run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from components.catalog import ARCHITECTURES, GPUS, Architecture
from serving.planner import model as m

Point = tuple[Callable[[m.Efficiency], float], float]


def stack_architecture(shape: dict[str, Any]) -> Architecture:
    """The measured layer stack as an Architecture: `layers_measured` layers of the shape, the embedding table and
    the (untied) LM head, parameters counted from the shapes exactly as bench/calibrate.py builds them."""
    h, heads, kv, hd, inter, vocab = (shape[k] for k in ("hidden", "heads", "kv_heads", "head_dim", "inter", "vocab"))
    layers = shape["layers_measured"]
    per_layer = 2 * h + (heads + 2 * kv) * hd * h + heads * hd * h + 3 * h * inter
    params = layers * per_layer + 2 * vocab * h + h
    return Architecture(
        f"{shape['name']}-{layers}-layers",
        params / 1e9,
        params / 1e9,
        layers,
        h,
        heads,
        kv,
        hd,
        131072,
        "bf16",
        vocab_size=vocab,
        source=f"bench/calibrate.py layer stack of {shape['name']}",
    )


@dataclass(frozen=True)
class Run:
    arch: Architecture
    tp: int
    dtype: str
    comm: str  # local | nccl
    decode: list[dict[str, Any]]
    prefill: list[dict[str, Any]]


Results = dict[str, Any] | Sequence[dict[str, Any]]


def runs_of(results: Results) -> list[Run]:
    """Every run of one results file or of several (fitted together)."""
    if not isinstance(results, dict):
        return [run for r in results for run in runs_of(r)]
    if "runs" not in results:  # the first H100 calibration: Llama-3.1-8B, all layers, BF16, TP1
        return [Run(ARCHITECTURES["llama-3.1-8b"], 1, "bf16", "local", results["decode"], results["prefill"])]
    arch = stack_architecture(results["shape"])
    return [Run(arch, r["tp"], r["dtype"], r["comm"], r["decode"], r["prefill"]) for r in results["runs"]]


def predict_decode(eff: m.Efficiency, gpu_key: str, run: Run, batch: int, context: int) -> float:
    gpu = GPUS[gpu_key]
    t = m.decode_step_time(run.arch, gpu, batch, context, run.tp, run.dtype, "bf16", eff)
    return t - (m.allreduce_time(gpu, run.tp, batch, run.arch, eff) if run.comm == "local" else 0.0)


def predict_prefill(eff: m.Efficiency, gpu_key: str, run: Run, length: int) -> float:
    gpu = GPUS[gpu_key]
    t = m.prefill_time(run.arch, gpu, length, run.tp, run.dtype, eff)
    return t - (m.allreduce_time(gpu, run.tp, length, run.arch, eff) if run.comm == "local" else 0.0)


def points(results: Results, gpu_key: str, kind: str, dtype: str, comm: str | None = None) -> list[Point]:
    out: list[Point] = []
    for run in runs_of(results):
        if run.dtype != dtype or (comm is not None and run.comm != comm):
            continue
        if kind == "decode":
            out += [
                (partial(_decode_at, gpu_key, run, d["batch"], d["context"]), d["median_ms"] / 1e3) for d in run.decode
            ]
        else:
            out += [(partial(_prefill_at, gpu_key, run, p["length"]), p["median_ms"] / 1e3) for p in run.prefill]
    return out


def _decode_at(gpu_key: str, run: Run, batch: int, context: int, eff: m.Efficiency) -> float:
    return predict_decode(eff, gpu_key, run, batch, context)


def _prefill_at(gpu_key: str, run: Run, length: int, eff: m.Efficiency) -> float:
    return predict_prefill(eff, gpu_key, run, length)


def _loss(eff: m.Efficiency, pts: Sequence[Point]) -> float:
    return sum(math.log(f(eff) / measured) ** 2 for f, measured in pts)


# factors that are times, not fractions: searched as multiples of this unit
UNITS = {"layer_overhead_s": 1e-4, "allreduce_latency_s": 1e-4}


def _with(eff: m.Efficiency, values: dict[str, float]) -> m.Efficiency:
    return replace(eff, **values)  # type: ignore[arg-type]


def _fit(base: m.Efficiency, names: Sequence[str], pts: Sequence[Point]) -> m.Efficiency:
    if not pts:
        return base
    grids = {n: [0.05 * i for i in range(11)] if n in UNITS else [0.30 + 0.05 * i for i in range(15)] for n in names}
    best = min(
        (
            _with(base, {n: v * UNITS.get(n, 1.0) for n, v in zip(names, values, strict=True)})
            for values in itertools.product(*(grids[n] for n in names))
        ),
        key=lambda e: _loss(e, pts),
    )
    step = 0.025
    while step > 1e-4:
        improved = False
        for name in names:
            for delta in (-step, step):
                value = getattr(best, name) / UNITS.get(name, 1.0) + delta
                if not (0.0 if name in UNITS else 0.05) <= value <= 1.2:
                    continue
                trial = _with(best, {name: value * UNITS.get(name, 1.0)})
                if _loss(trial, pts) < _loss(best, pts):
                    best, improved = trial, True
        if not improved:
            step /= 2
    return best


def fit(results: Results, gpu_key: str, base: m.Efficiency | None = None) -> m.Efficiency:
    """The GPU's factors fitted to `results`, starting from `base` (default: the shipped ones). The per-layer
    overhead is fitted only where the runs can separate it from the weight bandwidth (several TP degrees or
    shapes); otherwise it stays at `base`'s value."""
    eff = base or m.efficiency_for(gpu_key)
    overhead = len({(r.arch.key, r.tp) for r in runs_of(results)}) > 1
    decode_names = ("weights_bandwidth", "kv_bandwidth", "decode_compute", *(("layer_overhead_s",) if overhead else ()))
    eff = _fit(eff, decode_names, points(results, gpu_key, "decode", "bf16"))
    eff = _fit(eff, ("prefill_compute",), points(results, gpu_key, "prefill", "bf16"))
    fp8 = points(results, gpu_key, "decode", "fp8") + points(results, gpu_key, "prefill", "fp8")
    return _fit(eff, ("fp8_compute",), fp8)


def ratios(results: Results, eff: m.Efficiency, gpu_key: str) -> list[dict[str, Any]]:
    rows = []
    for run in runs_of(results):
        head = {"stack": run.arch.key, "dtype": run.dtype, "tp": run.tp, "comm": run.comm}
        for d in run.decode:
            pred = predict_decode(eff, gpu_key, run, d["batch"], d["context"]) * 1e3
            row = {
                **head,
                "kind": "decode",
                "batch": d["batch"],
                "context": d["context"],
                "measured_ms": d["median_ms"],
            }
            rows.append({**row, "predicted_ms": pred, "ratio": pred / d["median_ms"]})
        for p in run.prefill:
            pred = predict_prefill(eff, gpu_key, run, p["length"]) * 1e3
            row = {**head, "kind": "prefill", "batch": 1, "context": p["length"], "measured_ms": p["median_ms"]}
            rows.append({**row, "predicted_ms": pred, "ratio": pred / p["median_ms"]})
    return rows


FACTORS = ("weights_bandwidth", "kv_bandwidth", "decode_compute", "prefill_compute", "fp8_compute", "layer_overhead_s")


def _factors(e: m.Efficiency) -> str:
    return ", ".join(f"{k}={getattr(e, k) * 1e6:.1f} us" if k in UNITS else f"{k}={getattr(e, k):.3f}" for k in FACTORS)


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["stack"], r["dtype"], r["tp"], r["comm"], r["kind"], r["batch"], r["context"])


def fit_report(results: Results, gpu_key: str = "h200-sxm-141gb", markdown: bool = False) -> str:
    shipped_eff = m.efficiency_for(gpu_key)
    fitted = fit(results, gpu_key)
    files = [results] if isinstance(results, dict) else list(results)
    lines = [
        *(f"GPU: {r.get('gpu')} (catalog {gpu_key}); {r['date']}; torch {r['torch']}; {r.get('model')}" for r in files),
        "fitted: " + _factors(fitted),
        "shipped: " + _factors(shipped_eff),
        "",
    ]
    shipped = {_key(r): r for r in ratios(results, shipped_eff, gpu_key)}
    if markdown:
        lines += [
            "| stack | weights | TP | comm | pass | batch | context / length | measured ms | predicted ms (shipped) "
            "| ratio | predicted ms (refit) | ratio |",
            "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    worst = (0.0, "")
    for r in ratios(results, fitted, gpu_key):
        s = shipped[_key(r)]
        where = f"{r['stack']} {r['dtype']} TP{r['tp']} {r['comm']} {r['kind']} b={r['batch']} n={r['context']}"
        if abs(s["ratio"] - 1) > worst[0]:
            worst = (abs(s["ratio"] - 1), where)
        if markdown:
            lines.append(
                f"| {r['stack']} | {r['dtype']} | {r['tp']} | {r['comm']} | {r['kind']} | {r['batch']} | "
                f"{r['context']} | "
                f"{r['measured_ms']:.3f} | {s['predicted_ms']:.3f} | {s['ratio']:.3f} | {r['predicted_ms']:.3f} | "
                f"{r['ratio']:.3f} |"
            )
        else:
            lines.append(
                f"{where:64s} measured {r['measured_ms']:8.3f} ms  shipped {s['predicted_ms']:8.3f} "
                f"({s['ratio']:.3f})  refit {r['predicted_ms']:8.3f} ({r['ratio']:.3f})"
            )
    lines += ["", f"worst |shipped/measured - 1| = {worst[0]:.1%} ({worst[1]})"]
    return "\n".join(lines) + "\n"
