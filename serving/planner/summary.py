"""What the planner reports for a plan or an estimate: sizes, latency, throughput, nodes, KV tiers, cold start and
cost, as one flat camelCase mapping (the `inference-ra size --json` contract)."""

from __future__ import annotations

import math
from typing import Any

from serving.planner import model as m
from serving.planner.search import GIB, Estimate, Plan, Target, Workload, nodes_for

HOST_RAM_RESERVE_FRACTION = 0.10  # same reserve as the kv-cache-tiers rule


def cost_per_hour(t: Target, gpus: int) -> float:
    """The GPUs' share of their nodes' hourly price (node price / GPUs per node, per GPU): what the deployment
    costs where other work fills the rest of a node. `nodes_cost_per_hour` is the whole-node bill."""
    if t.node is None:
        return 0.0
    return gpus * t.prices.node_hour_usd(t.node.key) / t.node.gpus


def nodes_cost_per_hour(t: Target, nodes: int) -> float:
    return nodes * t.prices.node_hour_usd(t.node.key) if t.node else 0.0


def kv_tiers(t: Target, e: Estimate, w: Workload) -> dict[str, float]:
    """G2 host RAM and G3 NVMe per decode replica to keep `kvReuseWindowS` of finished conversations reusable.

    Working set = rate x window x (isl + osl) x KV bytes per token, spread over the decode replicas; RAM first up to
    the replica's share of the node's RAM (less the reserve), the rest on NVMe up to its share of local NVMe.
    """
    d = e.deployment
    working_set = e.rps * w.kv_reuse_window_s * (w.isl + w.osl) * m.kv_bytes_per_token(t.arch, t.kv_dtype)
    per_replica = working_set / max(d.replicas, 1)
    if t.node is None:
        return {"kvWorkingSetGiB": working_set / GIB, "hostRamGiBPerReplica": per_replica / GIB, "nvmeGiBPerReplica": 0}
    share = min(1.0, d.par.gpus / t.node.gpus)
    ram = min(per_replica, t.node.memory_gib * GIB * (1 - HOST_RAM_RESERVE_FRACTION) * share)
    nvme = min(per_replica - ram, t.node.local_nvme_gib * GIB * share)
    return {
        "kvWorkingSetGiB": round(working_set / GIB, 1),
        "hostRamGiBPerReplica": math.ceil(ram / GIB),
        "nvmeGiBPerReplica": math.ceil(nvme / GIB),
        "kvWorkingSetUncoveredGiB": round(max(0.0, per_replica - ram - nvme) * d.replicas / GIB, 1),
    }


def summarize_estimate(t: Target, e: Estimate, w: Workload) -> dict[str, Any]:
    d = e.deployment
    nodes = nodes_for(t, d)
    cost = cost_per_hour(t, d.gpus)
    out_tps = e.rps * w.osl
    wb = m.weights_bytes(t.arch, t.weights_dtype)
    replicas_total = d.replicas + d.prefill_replicas
    return {
        "model": t.arch.key,
        "gpu": t.gpu.key,
        "nodeType": t.node.key if t.node else None,
        "weightsDtype": t.weights_dtype,
        "kvDtype": t.kv_dtype,
        "weightsBytes": wb,
        "kvBytesPerToken": m.kv_bytes_per_token(t.arch, t.kv_dtype),
        "mode": d.mode,
        "tensorParallel": d.tp,
        "pipelineParallel": d.pp,
        "dataParallel": d.dp,
        "expertParallel": d.ep,
        "gpusPerReplica": d.par.gpus,
        "replicas": d.replicas,
        "prefillTensorParallel": d.prefill_tp or None,
        "prefillPipelineParallel": d.prefill_pp if d.prefill_tp else None,
        "prefillDataParallel": d.prefill_dp if d.prefill_tp else None,
        "prefillExpertParallel": d.prefill_ep if d.prefill_tp else None,
        "prefillReplicas": d.prefill_replicas or None,
        "gpus": d.gpus,
        "nodes": nodes,
        "kvCapacityTokensPerReplica": e.kv_capacity_tokens,
        "weightsBytesPerGpu": round(m.weights_per_gpu_bytes(t.arch, t.weights_dtype, d.par)),
        "efficiency": m.efficiency_source(t.gpu.key),
        "maxConcurrencyPerReplica": e.max_concurrency_per_replica,
        "batchPerReplica": round(e.batch_per_replica, 2),
        "prefillMs": round(t.prefill(w.isl, d.prefill_par if d.prefill_tp else d.par) * 1e3, 2),
        "ttftMs": round(e.ttft_s * 1e3, 1),
        "itlMs": round(e.itl_s * 1e3, 2),
        "requestsPerSecond": round(e.rps, 3),
        "tokensPerSecondPerGpu": round(out_tps / d.gpus, 1),
        "costPerHour": round(cost, 2),
        "nodesCostPerHour": round(nodes_cost_per_hour(t, nodes), 2),
        "costPerMillionTokens": round(cost / (out_tps * 3600) * 1e6, 4) if out_tps else None,
        "costPerMillionTotalTokens": round(cost / (e.rps * (w.isl + w.osl) * 3600) * 1e6, 4) if out_tps else None,
        **kv_tiers(t, e, w),
        "coldStartReadGBpsPerReplica": round(wb / w.cold_start_s / 1e9, 2),
        "coldStartReadGBpsAllReplicas": round(wb * replicas_total / w.cold_start_s / 1e9, 2),
        "bindingConstraint": e.binding(w),
        "meetsSlo": e.meets(w),
    }


def summarize(p: Plan) -> dict[str, Any]:
    if p.estimate is None:
        return {"feasible": False, "explanation": p.explanation, "rejected": p.rejected}
    return {"feasible": True, **summarize_estimate(p.target, p.estimate, p.workload), "explanation": p.explanation}
