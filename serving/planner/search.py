"""Evaluate a deployment against a workload, and search for the fewest GPUs that meet the SLO.

Queueing: requests arrive at `rps` (open loop) or `concurrency` users each send their next request when the last
finishes (closed loop). Decode batches are found by Little's law (batch = arrival rate x decode time), prefill
waits by the M/D/1 mean (`rho x t / (2 (1 - rho))`). In aggregated serving prefills share the GPU with decode, so
a replica spends `rho = rate x prefill time` of its time prefilling and decode steps stretch by `1 / (1 - rho)`
(chunked prefill); disaggregated serving separates them and pays the KV transfer over the fabric instead.
All latencies are means: the SLO is met with headroom `SLO_HEADROOM` so that tails stay inside p95 targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from components.catalog import Architecture, GpuModel, NodeType
from components.catalog.prices import DEFAULT_PRICES, PriceBook
from serving.planner import model as m

Mode = Literal["aggregated", "disaggregated"]
SLO_HEADROOM = 0.9  # mean latency must stay within 90% of a p95 target
MAX_UTILIZATION = 0.9  # a prefill queue past this utilization has unbounded tails
KV_TRANSFER_EFFICIENCY = 0.8  # of the per-GPU RDMA line rate that NIXL reaches for large KV blocks
MAX_REPLICAS = 4096
# Prefill tokens one aggregated step may carry (chunked prefill; vLLM's max_num_batched_tokens): a planner
# assumption of the order engines use on Hopper, not a calibrated figure.
PREFILL_CHUNK_TOKENS = 8192
GIB = 2**30


class PlannerInputError(ValueError):
    """Inputs the planner cannot work with; the message names the input and what is allowed."""


@dataclass(frozen=True)
class Workload:
    isl: int
    osl: int
    ttft_ms: float
    itl_ms: float
    rps: float | None = None
    concurrency: int | None = None
    kv_reuse_window_s: float = 300.0  # how long finished conversations' KV stays worth keeping (G2/G3 sizing)
    cold_start_s: float = 300.0  # target to load weights into a new replica

    def __post_init__(self) -> None:
        if (self.rps is None) == (self.concurrency is None):
            raise PlannerInputError("give exactly one of rps or concurrency")
        for name in ("isl", "osl", "ttft_ms", "itl_ms"):
            if not getattr(self, name) > 0:
                raise PlannerInputError(f"{name} must be > 0 (got {getattr(self, name)})")
        if self.rps is not None and not self.rps > 0:
            raise PlannerInputError(f"rps must be > 0 (got {self.rps})")
        if self.concurrency is not None and self.concurrency < 1:
            raise PlannerInputError(f"concurrency must be >= 1 (got {self.concurrency})")


@dataclass(frozen=True)
class Target:
    """What runs the model: architecture and precisions, GPU, node type (GPUs per node, RAM, NVMe, price)."""

    arch: Architecture
    gpu: GpuModel
    node: NodeType | None = None
    weights_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    gpu_memory_utilization: float = 0.9
    prices: PriceBook = DEFAULT_PRICES
    eff: m.Efficiency | None = None  # None: the GPU's own calibrated factors (serving/planner/efficiency.py)

    def __post_init__(self) -> None:
        if self.eff is None:
            object.__setattr__(self, "eff", m.efficiency_for(self.gpu.key))

    @property
    def efficiency(self) -> m.Efficiency:
        assert self.eff is not None
        return self.eff

    @property
    def gpus_per_node(self) -> int:
        return self.node.gpus if self.node else self.gpu.nvlink_domain

    def tp_choices(self) -> list[int]:
        """Powers of two up to a node, or up to the NVLink domain where it spans nodes (GB200 NVL72)."""
        limit = max(self.gpus_per_node, min(self.gpu.nvlink_domain, 64))
        return [2**i for i in range(7) if 2**i <= limit]

    def kv_capacity(self, tp: int) -> int:
        return m.kv_capacity_tokens(
            self.arch, self.gpu, tp, self.weights_dtype, self.kv_dtype, self.gpu_memory_utilization
        )

    def prefill(self, tokens: int, tp: int) -> float:
        return m.prefill_time(self.arch, self.gpu, tokens, tp, self.weights_dtype, self.efficiency)

    def step(self, batch: float, context: float, tp: int) -> float:
        return m.decode_step_time(
            self.arch, self.gpu, batch, context, tp, self.weights_dtype, self.kv_dtype, self.efficiency
        )

    def mixed_step(self, batch: float, context: float, chunk: float, chunk_context: float, tp: int) -> float:
        return m.step_time(
            self.arch,
            self.gpu,
            tp,
            self.weights_dtype,
            self.kv_dtype,
            batch=batch,
            context=context,
            chunk=chunk,
            chunk_context=chunk_context,
            eff=self.efficiency,
        )

    def kv_transfer(self, tokens: int, tp: int) -> float:
        per_gpu = (self.node.network_gbps / self.node.gpus if self.node else 400) / 8 * 1e9
        return tokens * m.kv_bytes_per_token(self.arch, self.kv_dtype) / (per_gpu * tp * KV_TRANSFER_EFFICIENCY)


@dataclass(frozen=True)
class Deployment:
    mode: Mode
    tp: int  # aggregated worker, or decode worker
    replicas: int
    prefill_tp: int = 0
    prefill_replicas: int = 0

    @property
    def gpus(self) -> int:
        return self.tp * self.replicas + self.prefill_tp * self.prefill_replicas


@dataclass(frozen=True)
class Estimate:
    deployment: Deployment
    ttft_s: float
    itl_s: float
    rps: float
    batch_per_replica: float  # sequences decoding at once on one (decode) replica
    max_concurrency_per_replica: int  # sequences of isl + osl the replica's HBM KV cache holds
    kv_capacity_tokens: int
    prefill_utilization: float
    saturated: str | None = None  # why the deployment cannot carry the load at all

    def pressures(self, w: Workload) -> dict[str, float]:
        """Each constraint as used / allowed (> 1 = violated)."""
        return {
            "ttft": self.ttft_s * 1e3 / (w.ttft_ms * SLO_HEADROOM),
            "itl": self.itl_s * 1e3 / (w.itl_ms * SLO_HEADROOM),
            "kv-capacity": self.batch_per_replica / max(self.max_concurrency_per_replica, 1e-9),
            "prefill-throughput": self.prefill_utilization / MAX_UTILIZATION,
        }

    def meets(self, w: Workload) -> bool:
        return self.saturated is None and all(v <= 1 for v in self.pressures(w).values())

    def binding(self, w: Workload) -> str:
        if self.saturated:
            return self.saturated
        return max(self.pressures(w).items(), key=lambda kv: kv[1])[0]


def _mdl_wait(rho: float, service: float) -> float:
    return rho * service / (2 * (1 - rho)) if rho < 1 else math.inf


def _decode_fixed_point(t: Target, rate: float, osl: int, ctx: float, tp: int, stretch: float) -> tuple[float, float]:
    """ITL and batch of a decode replica fed `rate` requests/s: itl = step(rate x osl x itl) x stretch."""
    itl = t.step(1, ctx, tp) * stretch
    for _ in range(200):
        batch = max(1.0, rate * osl * itl)
        nxt = t.step(batch, ctx, tp) * stretch
        if nxt > 60:  # the replica cannot keep up: the batch grows without bound
            return math.inf, math.inf
        if abs(nxt - itl) < 1e-9:
            break
        itl = nxt
    return itl, max(1.0, rate * osl * itl)


def _aggregated_point(
    t: Target, tp: int, w: Workload, rate: float, ctx: float, batch: float | None = None
) -> tuple[float, float, float, float]:
    """TTFT, ITL, decode batch and prefill utilization of one aggregated replica fed `rate` requests/s.

    Chunked prefill: each step carries the decode batch plus the prompt tokens that arrived during it,
    `chunk = rate x isl x step`, so ITL is the mixed step's time, found as a fixed point together with the batch
    (`batch = rate x osl x ITL` unless given). A prompt waits for the chunk budget (M/D/1 on its utilization
    `chunk / PREFILL_CHUNK_TOKENS`) and then takes ceil(isl / budget) steps carrying full chunks.
    """
    step = t.step(max(batch or 1.0, 1.0), ctx, tp)
    b = batch or 1.0
    for _ in range(200):
        b = batch if batch is not None else max(1.0, rate * w.osl * step)
        chunk = rate * w.isl * step
        nxt = t.mixed_step(b, ctx, chunk, w.isl / 2, tp)
        if nxt > 60 or chunk > PREFILL_CHUNK_TOKENS * 4:  # prompts arrive faster than steps absorb them
            return math.inf, math.inf, b, max(1.0, rate * t.prefill(w.isl, tp))
        if abs(nxt - step) < 1e-9:
            break
        step = nxt
    chunk_util = rate * w.isl * step / PREFILL_CHUNK_TOKENS
    compute_util = rate * t.prefill(w.isl, tp)  # share of the replica's time spent on prompt arithmetic
    rho = max(chunk_util, compute_util)
    if rho >= 1:
        return math.inf, math.inf, b, rho
    budget = min(w.isl, PREFILL_CHUNK_TOKENS)
    service = math.ceil(w.isl / budget) * t.mixed_step(b, ctx, budget, w.isl / 2, tp)
    return _mdl_wait(rho, service) + service + step, step, b, rho


def evaluate(t: Target, d: Deployment, w: Workload) -> Estimate:
    """Latency, batch and utilization of deployment `d` under workload `w`."""
    ctx = w.isl + w.osl / 2  # mean context a decoding sequence attends to
    cap = t.kv_capacity(d.tp)
    max_conc = cap // (w.isl + w.osl)
    if max_conc < 1 or (d.mode == "disaggregated" and t.kv_capacity(d.prefill_tp) < w.isl):
        return Estimate(d, math.inf, math.inf, 0.0, 0.0, max(max_conc, 0), cap, 0.0, saturated="weights-do-not-fit")
    if d.mode == "aggregated":
        if w.concurrency is not None:
            b = w.concurrency / d.replicas
            # closed loop: each user's next request follows the last answer, so the rate is the fixed point of
            # rate = b / (TTFT(rate) + osl x ITL(rate)); the right side falls as the rate rises: bisect
            lo, hi = 0.0, 1 / t.prefill(w.isl, d.tp)
            for _ in range(60):
                mid = (lo + hi) / 2
                ttft_m, itl_m, _b, _r = _aggregated_point(t, d.tp, w, mid, ctx, batch=b)
                if math.isinf(ttft_m) or b / (ttft_m + w.osl * itl_m) < mid:
                    hi = mid
                else:
                    lo = mid
            rate = lo
            ttft, itl, _batch, rho = _aggregated_point(t, d.tp, w, rate, ctx, batch=b)
            batch = b
        else:
            rate = w.rps / d.replicas  # type: ignore[operator]
            ttft, itl, batch, rho = _aggregated_point(t, d.tp, w, rate, ctx)
        if rho >= 1 or math.isinf(itl):
            why = "prefill-throughput" if rho >= 1 else "decode-throughput"
            return Estimate(d, math.inf, math.inf, rate * d.replicas, batch, max_conc, cap, rho, why)
        total_rate = rate * d.replicas
    else:
        t_p = t.prefill(w.isl, d.prefill_tp)
        xfer = t.kv_transfer(w.isl, min(d.prefill_tp, d.tp))
        if w.concurrency is not None:
            batch = w.concurrency / d.replicas
            itl = t.step(batch, ctx, d.tp)
            total_rate = w.concurrency / (t_p + xfer + w.osl * itl)
            for _ in range(50):  # prefill queueing lengthens the cycle and lowers the rate
                rho = total_rate / d.prefill_replicas * t_p
                ttft = _mdl_wait(min(rho, 0.999), t_p) + t_p + xfer + itl
                total_rate = w.concurrency / (ttft + w.osl * itl)
        else:
            total_rate = w.rps  # type: ignore[assignment]
            itl, batch = _decode_fixed_point(t, total_rate / d.replicas, w.osl, ctx, d.tp, 1.0)
        rho = total_rate / d.prefill_replicas * t_p
        if rho >= 1:
            return Estimate(d, math.inf, itl, total_rate, batch, max_conc, cap, rho, "prefill-throughput")
        ttft = _mdl_wait(rho, t_p) + t_p + xfer + itl
    saturated = "decode-throughput" if math.isinf(itl) else None
    return Estimate(d, ttft, itl, total_rate, batch, max_conc, cap, rho, saturated)


def _min_replicas(ok: Callable[[int], bool], limit: int = MAX_REPLICAS) -> int | None:
    """Smallest n in 1..limit with ok(n), assuming ok is monotone in n (more replicas never hurt)."""
    if not ok(limit):
        return None
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


@dataclass(frozen=True)
class Plan:
    target: Target
    workload: Workload
    estimate: Estimate | None
    considered: int
    explanation: str
    rejected: dict[str, str] = field(default_factory=dict)  # "<mode> tp<k>" -> why no replica count works

    @property
    def feasible(self) -> bool:
        return self.estimate is not None


def _aggregated(t: Target, w: Workload, tp: int) -> Estimate | str:
    def ok(n: int) -> bool:
        return evaluate(t, Deployment("aggregated", tp, n), w).meets(w)

    n = _min_replicas(ok)
    if n is None:
        return evaluate(t, Deployment("aggregated", tp, MAX_REPLICAS), w).binding(w)
    return evaluate(t, Deployment("aggregated", tp, n), w)


def _disaggregated(t: Target, w: Workload, tp_p: int, tp_d: int) -> Estimate | str:
    def decode_ok(n: int) -> bool:
        e = evaluate(t, Deployment("disaggregated", tp_d, n, tp_p, MAX_REPLICAS), w)
        return e.saturated is None and all(e.pressures(w)[k] <= 1 for k in ("itl", "kv-capacity"))

    n_d = _min_replicas(decode_ok)
    if n_d is None:
        return evaluate(t, Deployment("disaggregated", tp_d, MAX_REPLICAS, tp_p, MAX_REPLICAS), w).binding(w)

    def ok(n: int) -> bool:
        return evaluate(t, Deployment("disaggregated", tp_d, n_d, tp_p, n), w).meets(w)

    n_p = _min_replicas(ok)
    if n_p is None:
        return evaluate(t, Deployment("disaggregated", tp_d, n_d, tp_p, MAX_REPLICAS), w).binding(w)
    return evaluate(t, Deployment("disaggregated", tp_d, n_d, tp_p, n_p), w)


def plan(t: Target, w: Workload, modes: Iterable[Mode] = ("aggregated", "disaggregated")) -> Plan:
    """The deployment with the fewest GPUs meeting the SLO; ties go to aggregated, then to the lower TTFT."""
    modes = tuple(modes)
    found: list[Estimate] = []
    rejected: dict[str, str] = {}
    tps = t.tp_choices()
    for tp in tps if "aggregated" in modes else ():
        r = _aggregated(t, w, tp)
        found.append(r) if isinstance(r, Estimate) else rejected.setdefault(f"aggregated tp{tp}", r)
    for tp_p in tps if "disaggregated" in modes else ():
        for tp_d in tps:
            r = _disaggregated(t, w, tp_p, tp_d)
            found.append(r) if isinstance(r, Estimate) else rejected.setdefault(f"disaggregated tp{tp_p}/{tp_d}", r)
    considered = len(found) + len(rejected)
    if not found:
        reasons = sorted(set(rejected.values()))
        fits = [tp for tp in tps if t.kv_capacity(tp) >= w.isl + w.osl]
        floor = ""
        if fits:
            tp = max(fits)
            floor = (
                f"; the fastest a single sequence decodes is {t.step(1, w.isl + w.osl / 2, tp) * 1e3:.1f} ms per token "
                f"(TP{tp}) and a lone prefill takes {t.prefill(w.isl, tp) * 1e3:.0f} ms"
            )
        else:
            floor = f"; the weights do not fit TP{max(tps)} of {t.gpu.key}"
        return Plan(
            t, w, None, considered, f"no deployment meets the SLO; binding: {', '.join(reasons)}{floor}", rejected
        )
    best = min(found, key=lambda e: (e.deployment.gpus, e.deployment.mode != "aggregated", e.ttft_s))
    return Plan(t, w, best, considered, explain(best, w, found), rejected)


def explain(best: Estimate, w: Workload, found: list[Estimate]) -> str:
    d = best.deployment
    shape = (
        f"aggregated, {d.replicas} x TP{d.tp}"
        if d.mode == "aggregated"
        else f"disaggregated, {d.prefill_replicas} prefill x TP{d.prefill_tp} + {d.replicas} decode x TP{d.tp}"
    )
    bind = best.binding(w)
    p = best.pressures(w)
    runner = sorted((e for e in found if e is not best), key=lambda e: e.deployment.gpus)
    alt = ""
    if runner:
        r = runner[0]
        alt = f"; next best: {r.deployment.mode} TP{r.deployment.tp} with {r.deployment.gpus} GPUs"
    return (
        f"{shape} = {d.gpus} GPUs: the fewest that meet TTFT {w.ttft_ms:g} ms and ITL {w.itl_ms:g} ms "
        f"(with {int(SLO_HEADROOM * 100)}% headroom); binding constraint {bind} at {p[bind]:.0%} of its limit "
        f"(TTFT {best.ttft_s * 1e3:.0f} ms, ITL {best.itl_s * 1e3:.1f} ms, {best.batch_per_replica:.1f} sequences "
        f"per replica of {best.max_concurrency_per_replica} that fit){alt}"
    )


def default_node_type(gpu_key: str) -> NodeType | None:
    """The node type the planner assumes for a GPU when none is given: the largest system with that GPU,
    cloud instance types before bare metal (their prices are list prices, not reference rates)."""
    from components.catalog import NODE_TYPES

    candidates = [n for n in NODE_TYPES.values() if n.gpu == gpu_key]
    if not candidates:
        return None
    return sorted(candidates, key=lambda n: (-n.gpus, n.provider != "aws", n.key))[0]


def nodes_for(t: Target, d: Deployment) -> int:
    g = t.gpus_per_node
    whole = [(tp, n) for tp, n in ((d.tp, d.replicas), (d.prefill_tp, d.prefill_replicas)) if tp > g]
    nodes = sum(n * math.ceil(tp / g) for tp, n in whole)
    rest = sum(tp * n for tp, n in ((d.tp, d.replicas), (d.prefill_tp, d.prefill_replicas)) if 0 < tp <= g)
    return nodes + math.ceil(rest / g)


def with_replicas(d: Deployment, replicas: int) -> Deployment:
    return replace(d, replicas=replicas)
