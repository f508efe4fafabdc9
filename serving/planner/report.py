"""The planner's section of report.md: estimates and cost for every model, cost per hour for the stack.

Registered in `stacks.report.SECTIONS` by stacks/report.py.
"""

from __future__ import annotations

import math
from typing import Any

from components.catalog.prices import HOURS_PER_MONTH, PriceBook, fsx_price_key
from components.spec import StackSpec
from serving.planner import search
from serving.planner.search import Deployment, Estimate, Target, Workload, evaluate, plan
from serving.planner.spec import DEFAULT_COLD_START_S, deployed, target_for, workload_for
from serving.planner.summary import cost_per_hour, nodes_cost_per_hour, summarize_estimate

GB_PER_TIB = 2**40 / 1e9


def capacity_rps(t: Target, d: Deployment, base: Workload) -> float:
    """The highest request rate at which deployment `d` still meets the SLO (0 when none does)."""

    def ok(rps: float) -> bool:
        w = Workload(base.isl, base.osl, base.ttft_ms, base.itl_ms, rps=rps, cold_start_s=base.cold_start_s)
        return evaluate(t, d, w).meets(w)

    lo, hi = 0.0, 0.05
    while ok(hi):
        lo, hi = hi, hi * 2
        if hi > 1e6:
            return lo
    if lo == 0 and not ok(1e-3):
        return 0.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def _deployment_text(d: Deployment) -> str:
    if d.mode == "aggregated":
        return f"agg {d.replicas}x {d.par.label()}"
    return f"disagg P {d.prefill_replicas}x {d.prefill_par.label()} + D {d.replicas}x {d.par.label()}"


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and (math.isinf(value) or math.isnan(value))):
        return "-"
    return f"{value:,.{digits}f}"


def model_rows(spec: StackSpec, prices: PriceBook) -> tuple[list[str], list[str], list[str]]:
    estimates, recommendations, cold = [], [], []
    for model in spec.serving.models:
        t, d = target_for(spec, model, prices), deployed(model)
        if t is None or d is None:
            estimates.append(f"| {model.name} | - | not estimated (unknown catalog entry or no workers) |" + " |" * 9)
            continue
        cap = t.kv_capacity(d.par)
        base = workload_for(spec, model)
        if model.slo is None:
            single = t.step(1, 2048, d.par) * 1e3
            estimates.append(
                f"| {model.name} | {t.gpu.key} | {_deployment_text(d)} | {d.gpus} | {cap:,} | no slo | - | "
                f"{single:.1f} (1 seq) | - | - | {_fmt(cost_per_hour(t, d.gpus), 2)} | - |"
            )
            continue
        load_note = ""
        if base is None:  # no traffic: estimate at the deployment's capacity under the SLO
            rps = capacity_rps(t, d, workload_for(spec, model, rps=1.0))  # type: ignore[arg-type]
            base = workload_for(spec, model, rps=max(rps, 1e-3))
            load_note = " (capacity at SLO)"
        assert base is not None
        e: Estimate = evaluate(t, d, base)
        s = summarize_estimate(t, e, base)
        load = f"{base.rps:.2f} rps" if base.rps is not None else f"{base.concurrency} conc"
        verdict = "meets" if e.meets(base) else f"misses ({e.binding(base)})"
        estimates.append(
            f"| {model.name} | {t.gpu.key} | {_deployment_text(d)} | {d.gpus} | "
            f"{cap:,} ({s['maxConcurrencyPerReplica']} seq) | {load}{load_note} | {_fmt(e.ttft_s * 1e3, 0)} | "
            f"{_fmt(e.itl_s * 1e3)} | {verdict} | {_fmt(s['tokensPerSecondPerGpu'], 0)} | "
            f"{_fmt(s['costPerHour'], 2)} | {_fmt(s['costPerMillionTokens'], 2)} |"
        )
        best = plan(t, base)
        if best.estimate is not None:
            b = summarize_estimate(t, best.estimate, base)
            recommendations.append(
                f"| {model.name} | {_deployment_text(best.estimate.deployment)} | {b['gpus']} | {b['nodes']} | "
                f"{b['ttftMs']:.0f} | {b['itlMs']:.1f} | {b['costPerHour']:,.2f} | "
                f"{_fmt(b['costPerMillionTokens'], 2)} | {b['bindingConstraint']} |"
            )
        else:
            recommendations.append(f"| {model.name} | none meets the SLO | | | | | | | {best.explanation} |")
        cold.append(_cold_start_row(spec, model.name, s))
    return estimates, recommendations, cold


def filesystem_read_gbps(spec: StackSpec) -> float | None:
    fs = spec.storage.parallel_fs
    if fs.type == "fsx-lustre":
        return fs.capacity_ti_b * fs.throughput_m_bps_per_ti_b / 1000
    return fs.aggregate_read_g_bps


def _cold_start_row(spec: StackSpec, name: str, s: dict[str, Any]) -> str:
    have = filesystem_read_gbps(spec)
    need = s["coldStartReadGBpsAllReplicas"]
    verdict = "-" if have is None else ("ok" if have >= need else "too slow")
    return (
        f"| {name} | {s['weightsBytes'] / 1e9:,.1f} | {s['coldStartReadGBpsPerReplica']:.2f} | {need:.2f} | "
        f"{_fmt(have, 1)} | {verdict} |"
    )


def storage_cost_rows(spec: StackSpec, prices: PriceBook) -> list[tuple[str, float, str]]:
    rows: list[tuple[str, float, str]] = []
    fs = spec.storage.parallel_fs
    if fs.type == "fsx-lustre":
        key = fsx_price_key(fs.throughput_m_bps_per_ti_b)
        if key in prices.storage_gb_month:
            gb = fs.capacity_ti_b * GB_PER_TIB
            rows.append(
                (
                    f"FSx for Lustre {fs.capacity_ti_b:g} TiB at {fs.throughput_m_bps_per_ti_b} MB/s/TiB",
                    prices.storage_hour_usd(key, gb),
                    prices.source_of(key),
                )
            )
    elif fs.type != "none":
        gb = fs.capacity_ti_b * GB_PER_TIB
        rows.append(
            (
                f"{fs.type} {fs.capacity_ti_b:g} TiB",
                prices.storage_hour_usd("onprem-parallel-fs", gb),
                prices.source_of("onprem-parallel-fs"),
            )
        )
    obs = spec.observability
    if spec.cluster.provider == "aws" and obs.enabled and obs.prometheus.mode == "deploy":
        gb = obs.prometheus.storage_gi * 2**30 / 1e9
        rows.append(
            (
                f"Prometheus volume {obs.prometheus.storage_gi} GiB (EBS gp3)",
                prices.storage_hour_usd("ebs-gp3", gb),
                prices.source_of("ebs-gp3"),
            )
        )
    return rows


def planner_section(p: Any) -> str:
    """report.md section: planner estimates per model, the planner's recommendation, cold start, stack cost."""
    spec: StackSpec = p.spec
    prices = PriceBook.for_spec(spec)
    estimates, recommendations, cold = model_rows(spec, prices)
    out = [
        "## Capacity planner and cost",
        "",
        "Estimates of the calibrated roofline model (docs/planner.md, docs/calibration.md) for the deployment as "
        f"specified; latencies are means, an SLO is met when they stay within {int(search.SLO_HEADROOM * 100)}% of "
        "the p95 target. Cost is the GPUs' share of their nodes' hourly price; $/M is per million output tokens.",
        "",
        "| model | GPU | deployment | GPUs | KV tokens/replica | load | TTFT ms | ITL ms | SLO | out tok/s/GPU "
        "| $/hour | $/M tokens |",
        "|---|---|---|---:|---:|---|---:|---:|---|---:|---:|---:|",
        *estimates,
    ]
    if recommendations:
        out += [
            "",
            "Planner recommendation: the fewest GPUs that meet the same SLO at the same load.",
            "",
            "| model | deployment | GPUs | nodes | TTFT ms | ITL ms | $/hour | $/M tokens | binding |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
            *recommendations,
        ]
    if cold:
        out += [
            "",
            "Cold start: weights read from the parallel filesystem within the cold-start target "
            f"(storage.coldStartSeconds or the model's; default {int(DEFAULT_COLD_START_S)} s).",
            "",
            "| model | weights GB | GB/s per replica | GB/s all replicas | filesystem GB/s | |",
            "|---|---:|---:|---:|---:|---|",
            *cold,
        ]
    compute_lines, total_min, total_max = [], 0.0, 0.0
    for pool in spec.gpu_pools:
        nt = spec.node_type(pool)
        if nt is None:
            continue
        rate = prices.node_hour_usd(nt.key)
        lo, hi = pool.nodes.resolved_desired * rate, pool.nodes.max * rate
        total_min, total_max = total_min + lo, total_max + hi
        compute_lines.append(
            f"| pool {pool.name}: {pool.nodes.resolved_desired}-{pool.nodes.max} x {nt.key} at ${rate:,.2f} | "
            f"{lo:,.2f} | {hi:,.2f} | {prices.source_of(nt.key)} |"
        )
    storage = storage_cost_rows(spec, prices)
    storage_lines = [f"| {what} | {usd:,.2f} | {usd:,.2f} | {src} |" for what, usd, src in storage]
    st = sum(usd for _, usd, _ in storage)
    out += [
        "",
        "Stack cost per hour (GPU nodes at desired and at maximum count, storage; system nodes, network and "
        "data transfer not included).",
        "",
        "| item | $/hour (desired) | $/hour (max) | price source |",
        "|---|---:|---:|---|",
        *compute_lines,
        *storage_lines,
        f"| **total** | **{total_min + st:,.2f}** | **{total_max + st:,.2f}** | "
        f"${(total_min + st) * HOURS_PER_MONTH:,.0f} per month at desired |",
    ]
    return "\n".join(out)


__all__ = ["capacity_rps", "nodes_cost_per_hour", "planner_section"]
