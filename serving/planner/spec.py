"""Bridges between the stack spec and the planner: a model's Target and Workload, its deployed Deployment."""

from __future__ import annotations

from components.catalog.prices import PriceBook
from components.spec import StackSpec
from components.spec.serving import ModelSpec, WorkerSpec
from serving.planner.model import Parallel
from serving.planner.search import Deployment, Target, Workload

DEFAULT_COLD_START_S = 300.0


def target_for(spec: StackSpec, model: ModelSpec, prices: PriceBook | None = None) -> Target | None:
    """None when the architecture, pool, GPU or node type is unknown (the spine rules report those)."""
    arch, pool = spec.architecture(model), spec.pool(model.pool)
    if arch is None or pool is None:
        return None
    gpu, node = spec.gpu_model(pool), spec.node_type(pool)
    if gpu is None or node is None:
        return None
    return Target(
        arch,
        gpu,
        node,
        model.weights_dtype,
        model.kv_dtype,
        model.gpu_memory_utilization,
        prices or PriceBook.for_spec(spec),
    )


def workload_for(spec: StackSpec, model: ModelSpec, rps: float | None = None) -> Workload | None:
    """The model's SLO and traffic as a Workload (traffic overridden by `rps`); None without an SLO or traffic."""
    slo, traffic = model.slo, model.traffic
    if slo is None:
        return None
    cold = model.cold_start_seconds or spec.storage.cold_start_seconds or DEFAULT_COLD_START_S
    if rps is not None:
        return Workload(slo.isl, slo.osl, slo.ttft_ms, slo.itl_ms, rps=rps, cold_start_s=cold)
    if traffic is None or (traffic.rps is None and traffic.concurrency is None):
        return None
    if traffic.rps is not None:
        return Workload(slo.isl, slo.osl, slo.ttft_ms, slo.itl_ms, rps=traffic.rps, cold_start_s=cold)
    return Workload(slo.isl, slo.osl, slo.ttft_ms, slo.itl_ms, concurrency=traffic.concurrency, cold_start_s=cold)


def _parallel(w: WorkerSpec) -> Parallel:
    return Parallel(w.tensor_parallel, w.pipeline_parallel, w.data_parallel, w.expert_parallel)


def deployed(model: ModelSpec) -> Deployment | None:
    """The deployment the spec declares (each role's tp x pp x dp shape, EP, replicas); None when its workers are
    missing."""
    if model.mode == "aggregated":
        w = model.worker
        return Deployment.of("aggregated", _parallel(w), w.replicas) if w and w.replicas else None
    p, d = model.prefill, model.decode
    if p is None or d is None or not p.replicas or not d.replicas:
        return None
    return Deployment.of("disaggregated", _parallel(d), d.replicas, _parallel(p), p.replicas)
