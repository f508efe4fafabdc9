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

from components.catalog import NodeType
from serving.planner import model as m
from serving.planner.target import KV_TRANSFER_EFFICIENCY, Deployment, Mode, PlannerInputError, Target, Workload

SLO_HEADROOM = 0.9  # mean latency must stay within 90% of a p95 target
MAX_UTILIZATION = 0.9  # a prefill queue past this utilization has unbounded tails
MAX_REPLICAS = 4096
# Prefill tokens one aggregated step may carry (chunked prefill; vLLM's max_num_batched_tokens): a planner
# assumption of the order engines use on Hopper, not a calibrated figure.
PREFILL_CHUNK_TOKENS = 8192
GIB = 2**30

__all__ = [
    "KV_TRANSFER_EFFICIENCY",
    "Deployment",
    "Estimate",
    "Mode",
    "Plan",
    "PlannerInputError",
    "Target",
    "Workload",
    "evaluate",
    "nodes_for",
    "plan",
]


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


def _decode_fixed_point(
    t: Target, rate: float, osl: int, ctx: float, p: m.Parallel, stretch: float
) -> tuple[float, float]:
    """ITL and batch of a decode replica fed `rate` requests/s: itl = step(rate x osl x itl) x stretch."""
    itl = t.step(1, ctx, p) * stretch
    for _ in range(200):
        batch = max(1.0, rate * osl * itl)
        nxt = t.step(batch, ctx, p) * stretch
        if nxt > 60:  # the replica cannot keep up: the batch grows without bound
            return math.inf, math.inf
        if abs(nxt - itl) < 1e-9:
            break
        itl = nxt
    return itl, max(1.0, rate * osl * itl)


def _aggregated_point(
    t: Target, p: m.Parallel, w: Workload, rate: float, ctx: float, batch: float | None = None
) -> tuple[float, float, float, float]:
    """TTFT, ITL, decode batch and prefill utilization of one aggregated replica fed `rate` requests/s.

    Chunked prefill: each step carries the decode batch plus the prompt tokens that arrived during it,
    `chunk = rate x isl x step`, so ITL is the mixed step's time, found as a fixed point together with the batch
    (`batch = rate x osl x ITL` unless given). A prompt waits for the chunk budget (M/D/1 on its utilization
    `chunk / PREFILL_CHUNK_TOKENS`) and then takes ceil(isl / budget) steps carrying full chunks. Every DP rank and
    every pipeline micro-batch in flight (`lanes`) has its own budget and takes its share of the load.
    """
    lanes = p.dp * p.pp
    step = t.step(max(batch or 1.0, 1.0), ctx, p)
    b = batch or 1.0
    for _ in range(200):
        b = batch if batch is not None else max(1.0, rate * w.osl * step)
        chunk = rate * w.isl * step
        nxt = t.mixed_step(b, ctx, chunk, w.isl / 2, p)
        if nxt > 60 or chunk > PREFILL_CHUNK_TOKENS * 4 * lanes:  # prompts arrive faster than steps absorb them
            return math.inf, math.inf, b, max(1.0, rate * t.prefill(w.isl, p) / lanes)
        if abs(nxt - step) < 1e-9:
            break
        step = nxt
    chunk_util = rate * w.isl * step / (PREFILL_CHUNK_TOKENS * lanes)
    compute_util = rate * t.prefill(w.isl, p) / lanes  # share of the replica's time spent on prompt arithmetic
    rho = max(chunk_util, compute_util)
    if rho >= 1:
        return math.inf, math.inf, b, rho
    budget = min(w.isl, PREFILL_CHUNK_TOKENS)
    service = math.ceil(w.isl / budget) * t.pass_time(b / lanes, ctx, budget, w.isl / 2, p)
    return _mdl_wait(rho, service) + service + step, step, b, rho


def evaluate(t: Target, d: Deployment, w: Workload) -> Estimate:
    """Latency, batch and utilization of deployment `d` under workload `w`."""
    ctx = w.isl + w.osl / 2  # mean context a decoding sequence attends to
    par, ppar = d.par, d.prefill_par
    cap = t.kv_capacity(par)
    max_conc = t.max_concurrency(par, w.isl + w.osl)
    if max_conc < 1 or (d.mode == "disaggregated" and t.rank_kv_capacity(ppar) < w.isl):
        return Estimate(d, math.inf, math.inf, 0.0, 0.0, max(max_conc, 0), cap, 0.0, saturated="weights-do-not-fit")
    if d.mode == "aggregated":
        if w.concurrency is not None:
            b = w.concurrency / d.replicas
            # closed loop: each user's next request follows the last answer, so the rate is the fixed point of
            # rate = b / (TTFT(rate) + osl x ITL(rate)); the right side falls as the rate rises: bisect
            lo, hi = 0.0, par.dp * par.pp / t.prefill(w.isl, par)
            for _ in range(60):
                mid = (lo + hi) / 2
                ttft_m, itl_m, _b, _r = _aggregated_point(t, par, w, mid, ctx, batch=b)
                if math.isinf(ttft_m) or b / (ttft_m + w.osl * itl_m) < mid:
                    hi = mid
                else:
                    lo = mid
            rate = lo
            ttft, itl, _batch, rho = _aggregated_point(t, par, w, rate, ctx, batch=b)
            batch = b
        else:
            rate = w.rps / d.replicas  # type: ignore[operator]
            ttft, itl, batch, rho = _aggregated_point(t, par, w, rate, ctx)
        if rho >= 1 or math.isinf(itl):
            why = "prefill-throughput" if rho >= 1 else "decode-throughput"
            return Estimate(d, math.inf, math.inf, rate * d.replicas, batch, max_conc, cap, rho, why)
        total_rate = rate * d.replicas
    else:
        t_p = t.prefill(w.isl, ppar)
        prefill_lanes = d.prefill_replicas * ppar.dp * ppar.pp  # prompts in flight across the prefill workers
        xfer = t.kv_transfer(w.isl, ppar, par)
        if w.concurrency is not None:
            batch = w.concurrency / d.replicas
            itl = t.step(batch, ctx, par)
            total_rate = w.concurrency / (t_p + xfer + w.osl * itl)
            for _ in range(50):  # prefill queueing lengthens the cycle and lowers the rate
                rho = total_rate / prefill_lanes * t_p
                ttft = _mdl_wait(min(rho, 0.999), t_p) + t_p + xfer + itl
                total_rate = w.concurrency / (ttft + w.osl * itl)
        else:
            total_rate = w.rps  # type: ignore[assignment]
            itl, batch = _decode_fixed_point(t, total_rate / d.replicas, w.osl, ctx, par, 1.0)
        rho = total_rate / prefill_lanes * t_p
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
    rejected: dict[str, str] = field(default_factory=dict)  # "<mode> tp<k>[pp<k>][dp<k>][ep]" -> why none works

    @property
    def feasible(self) -> bool:
        return self.estimate is not None


def _aggregated(t: Target, w: Workload, p: m.Parallel) -> Estimate | str:
    def ok(n: int) -> bool:
        return evaluate(t, Deployment.of("aggregated", p, n), w).meets(w)

    n = _min_replicas(ok)
    if n is None:
        return evaluate(t, Deployment.of("aggregated", p, MAX_REPLICAS), w).binding(w)
    return evaluate(t, Deployment.of("aggregated", p, n), w)


def _disaggregated(t: Target, w: Workload, pp_: m.Parallel, pd: m.Parallel) -> Estimate | str:
    def dep(n_d: int, n_p: int) -> Deployment:
        return Deployment.of("disaggregated", pd, n_d, pp_, n_p)

    def decode_ok(n: int) -> bool:
        e = evaluate(t, dep(n, MAX_REPLICAS), w)
        return e.saturated is None and all(e.pressures(w)[k] <= 1 for k in ("itl", "kv-capacity"))

    n_d = _min_replicas(decode_ok)
    if n_d is None:
        return evaluate(t, dep(MAX_REPLICAS, MAX_REPLICAS), w).binding(w)

    def ok(n: int) -> bool:
        return evaluate(t, dep(n_d, n), w).meets(w)

    n_p = _min_replicas(ok)
    if n_p is None:
        return evaluate(t, dep(n_d, MAX_REPLICAS), w).binding(w)
    return evaluate(t, dep(n_d, n_p), w)


def shape_key(p: m.Parallel) -> str:
    """`tp2`, `tp8pp2`, `tp1dp8ep`: the key of a shape in Plan.rejected."""
    return f"tp{p.tp}" + (f"pp{p.pp}" if p.pp > 1 else "") + (f"dp{p.dp}" if p.dp > 1 else "") + ("ep" if p.ep else "")


def plan(t: Target, w: Workload, modes: Iterable[Mode] = ("aggregated", "disaggregated")) -> Plan:
    """The deployment with the fewest GPUs meeting the SLO; ties go to aggregated, then to the lower TTFT.

    Shapes: `Target.shapes`. Disaggregated prefill workers take the shapes without data parallelism (one prompt
    does not go faster on more DP ranks; more prefill replicas do the same as DP there)."""
    modes = tuple(modes)
    found: list[Estimate] = []
    rejected: dict[str, str] = {}
    shapes = t.shapes(w)
    for p in shapes if "aggregated" in modes else ():
        r = _aggregated(t, w, p)
        found.append(r) if isinstance(r, Estimate) else rejected.setdefault(f"aggregated {shape_key(p)}", r)
    for pp_ in [s for s in shapes if s.dp == 1] if "disaggregated" in modes else ():
        for pd in shapes:
            r = _disaggregated(t, w, pp_, pd)
            key = f"disaggregated {shape_key(pp_)}/{shape_key(pd)}"
            found.append(r) if isinstance(r, Estimate) else rejected.setdefault(key, r)
    considered = len(found) + len(rejected)
    if not found:
        reasons = sorted(set(rejected.values()))
        fits = [p for p in shapes if t.rank_kv_capacity(p) >= w.isl + w.osl]
        floor = ""
        if fits:
            p = max(fits, key=lambda s: (s.rank_gpus, -s.dp))
            floor = (
                f"; the fastest a single sequence decodes is {t.step(1, w.isl + w.osl / 2, p) * 1e3:.1f} ms per token "
                f"({p.label()}) and a lone prefill takes {t.prefill(w.isl, p) * 1e3:.0f} ms"
            )
        else:
            widest = max(shapes, key=lambda s: (s.gpus, s.rank_gpus))
            floor = f"; the weights do not fit {widest.label()} of {t.gpu.key}"
        return Plan(
            t, w, None, considered, f"no deployment meets the SLO; binding: {', '.join(reasons)}{floor}", rejected
        )
    best = min(found, key=lambda e: (e.deployment.gpus, e.deployment.mode != "aggregated", e.ttft_s))
    return Plan(t, w, best, considered, explain(best, w, found), rejected)


def explain(best: Estimate, w: Workload, found: list[Estimate]) -> str:
    d = best.deployment
    bind = best.binding(w)
    p = best.pressures(w)
    runner = sorted((e for e in found if e is not best), key=lambda e: e.deployment.gpus)
    alt = ""
    if runner:
        r = runner[0].deployment
        alt = f"; next best: {r.mode} {r.par.label()} with {r.gpus} GPUs"
    return (
        f"{d.describe()} = {d.gpus} GPUs: the fewest that meet TTFT {w.ttft_ms:g} ms and ITL {w.itl_ms:g} ms "
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
    """Nodes of a deployment: a replica larger than a node takes whole nodes; the rest pack onto shared nodes."""
    g = t.gpus_per_node
    roles = [(d.par.gpus, d.replicas), (d.prefill_par.gpus, d.prefill_replicas)]
    whole = sum(n * math.ceil(per / g) for per, n in roles if per > g)
    rest = sum(per * n for per, n in roles if 0 < per <= g)
    return whole + math.ceil(rest / g)


def with_replicas(d: Deployment, replicas: int) -> Deployment:
    return replace(d, replicas=replicas)
