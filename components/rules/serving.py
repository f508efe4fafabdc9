"""Serving rules: what a Dynamo graph needs from the rest of the stack that the field types cannot say.

Cross-layer sizing rules (parallelism, HBM, RDMA, KV tiers, autoscaling bounds) live in rules/spine.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from components.rules import Problem, rule
from components.spec import StackSpec


@rule("planner-sla-needs")
def planner_sla_needs(spec: StackSpec) -> Iterator[Problem]:
    """The SLA Planner scales on TTFT/ITL targets it reads from Prometheus: both must exist."""
    obs = spec.observability
    has_prometheus = obs.enabled and (obs.prometheus.mode == "deploy" or bool(obs.prometheus.url))
    for i, m in enumerate(spec.serving.models):
        if m.autoscaling.mode != "planner-sla":
            continue
        at = f"serving.models[{i}]"
        if m.slo is None:
            yield Problem(
                f"{at}.slo", "autoscaling planner-sla scales to latency targets", None, "set slo: {ttftMs, itlMs}"
            )
        if not has_prometheus:
            got = "observability disabled" if not obs.enabled else "prometheus mode external without url"
            yield Problem(
                f"{at}.autoscaling.mode",
                "the Dynamo Planner reads frontend latency metrics from Prometheus",
                got,
                "enable observability (prometheus mode deploy) or set observability.prometheus.url",
            )


@rule("kai-queue-for-model")
def kai_queue_for_model(spec: StackSpec) -> Iterator[Problem]:
    """With KAI on, the operator puts a graph without a queue annotation in queue `dynamo` and refuses to deploy
    it when that Queue does not exist; this stack only creates the tenants' queues."""
    if not spec.serving.dynamo.kai_scheduler:
        return
    queues = sorted(q.name for q in spec.scheduling.queues)
    for i, m in enumerate(spec.serving.models):
        if not m.tenant:
            yield Problem(
                f"serving.models[{i}].tenant",
                "serving.dynamo.kaiScheduler is on, so every graph must run in a tenant's KAI queue",
                None,
                f"set tenant to one of {queues}" if queues else "add scheduling.queues and set tenant",
            )


@rule("multinode-orchestrator")
def multinode_orchestrator(spec: StackSpec) -> Iterator[Problem]:
    """The operator renders multinode components as Grove PodCliqueSets or, without Grove, as LeaderWorkerSets;
    this stack installs Grove, not LWS."""
    if spec.serving.dynamo.grove:
        return
    for i, m in enumerate(spec.serving.models):
        for role, w in m.workers().items():
            if w.multinode:
                yield Problem(
                    f"serving.models[{i}].{role}.multinode",
                    "multinode workers need Grove (gang scheduling of a replica's pods)",
                    True,
                    "set serving.dynamo.grove: true",
                )


@rule("kv-object-store")
def kv_object_store(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        kv, at = m.kv_cache, f"serving.models[{i}].kvCache.objectStore"
        if not kv.object_store:
            continue
        if not kv.object_store.startswith("s3://") or len(kv.object_store) <= len("s3://"):
            yield Problem(at, "the G4 object tier is an S3 bucket", kv.object_store, "use s3://bucket[/prefix]")
        if kv.connector == "lmcache":
            yield Problem(
                at,
                "the object tier is wired for KVBM object offload only",
                kv.connector,
                "use connector kvbm, or drop objectStore",
            )


@rule("expert-parallel-needs-moe")
def expert_parallel_needs_moe(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        arch = spec.architecture(m)
        if arch is None or arch.is_moe:
            continue
        for role, w in m.workers().items():
            if w.expert_parallel:
                yield Problem(
                    f"serving.models[{i}].{role}.expertParallel",
                    f"expert parallelism shards MoE experts but {arch.key} is a dense model",
                    True,
                    "set expertParallel: false",
                )
