"""Rules on inputs that are well-formed field by field but wrong together: parallelism the engines cannot shard,
graphs missing a role, replicas no pool can hold, workloads in system namespaces, repeated entries of set-like lists
that hold objects.

Sources:
- vLLM vllm/config (ModelConfig.verify_with_parallel_config): "Total number of attention heads (...) must be
  divisible by tensor parallel size (...)"; vllm/model_executor/layers/linear.py (QKVParallelLinear): with
  tp >= KV heads each KV head is replicated tp / kv_heads times (must divide), below that the KV heads are split
  (kv_heads / tp must divide). SGLang and TensorRT-LLM shard attention heads the same way. MLA models (DeepSeek)
  have no per-head KV to split, so only the attention-head rule applies to them.
- Kubernetes "Considerations for large clusters": at most 5,000 nodes per cluster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from components.rules import Problem, rule
from components.rules.tenancy import SYSTEM_NAMESPACES
from components.spec import StackSpec
from components.spec.serving import ModelSpec
from components.spec.types import MAX_NODES

# Namespaces of the platform's operators and system components (components/namespaces.py creates them); a model or a
# Triton server there would run with the operators' RBAC, quotas and network policies.
OPERATOR_NAMESPACES = frozenset({"kai-scheduler", "grove-system", "gpu-acceptance"}) | SYSTEM_NAMESPACES - {"default"}


def _operator_namespaces(spec: StackSpec) -> frozenset[str]:
    names = set(OPERATOR_NAMESPACES) | {spec.serving.dynamo.namespace}
    if spec.observability.enabled:
        names.add(spec.observability.prometheus.namespace)
    return frozenset(names)


def _model_namespace(spec: StackSpec, m: ModelSpec) -> tuple[str, str]:
    """(namespace, where it comes from) as components/namespaces.py resolves it."""
    if m.namespace:
        return m.namespace, "namespace"
    queue = next((q for q in spec.scheduling.queues if q.name == m.tenant), None) if m.tenant else None
    if queue:
        return queue.resolved_namespace, "tenant"
    return "dynamo", "namespace"


@rule("workload-namespaces")
def workload_namespaces(spec: StackSpec) -> Iterator[Problem]:
    reserved = _operator_namespaces(spec)
    for i, m in enumerate(spec.serving.models):
        ns, key = _model_namespace(spec, m)
        if ns in reserved:
            yield Problem(
                f"serving.models[{i}].{key}",
                "places the model in a system or operator namespace",
                ns,
                "give the model its own namespace (or a tenant's)",
            )
    for i, t in enumerate(spec.serving.triton):
        if t.namespace in reserved:
            yield Problem(
                f"serving.triton[{i}].namespace",
                "places Triton in a system or operator namespace",
                t.namespace,
                "give it its own namespace (or a tenant's)",
            )


@rule("parallelism-divides-heads")
def parallelism_divides_heads(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        arch = spec.architecture(m)
        if arch is None:
            continue
        for role, w in m.workers().items():
            at, tp = f"serving.models[{i}].{role}.tensorParallel", w.tensor_parallel
            if arch.attention_heads % tp:
                yield Problem(
                    at,
                    f"the engines split attention heads across tensor-parallel ranks: {arch.attention_heads} heads of "
                    f"{arch.key} do not divide by {tp}",
                    tp,
                    f"use a divisor of {arch.attention_heads}",
                )
            elif not arch.uses_mla and (arch.kv_heads % tp if tp < arch.kv_heads else tp % arch.kv_heads):
                yield Problem(
                    at,
                    f"{arch.kv_heads} KV heads of {arch.key} can be neither split evenly over nor replicated evenly "
                    f"across {tp} tensor-parallel ranks",
                    tp,
                    f"use a divisor or a multiple of {arch.kv_heads}",
                )


@rule("graph-roles-run")
def graph_roles_run(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        if m.mode != "disaggregated":
            continue
        for role, w in m.workers().items():
            if w.replicas == 0:
                yield Problem(
                    f"serving.models[{i}].{role}.replicas",
                    f"a disaggregated graph needs its {role} workers: with none it cannot serve a request",
                    0,
                    "set replicas >= 1 (autoscaling scales from there)",
                )


@rule("replicas-fit-pool")
def replicas_fit_pool(spec: StackSpec) -> Iterator[Problem]:
    """The replicas deployed at creation must fit their pool's GPUs (autoscaling maxima: autoscaling-fits-pool)."""
    wanted: Counter[str] = Counter()
    first: dict[str, str] = {}
    for i, m in enumerate(spec.serving.models):
        for role, w in m.workers().items():
            wanted[m.pool] += w.replicas * w.gpus_per_replica
            first.setdefault(m.pool, f"serving.models[{i}].{role}.replicas")
    for i, t in enumerate(spec.serving.triton):
        if t.pool:
            wanted[t.pool] += t.replicas * t.gpus
            first.setdefault(t.pool, f"serving.triton[{i}].replicas")
    for name, gpus in sorted(wanted.items()):
        pool = spec.pool(name)
        nt = spec.node_type(pool) if pool else None
        if pool is None or nt is None:
            continue
        have = pool.nodes.max * nt.gpus
        if gpus > have:
            yield Problem(
                first[name],
                f"the replicas on pool '{name}' need {gpus} GPUs but it has at most {have} "
                f"({pool.nodes.max} nodes x {nt.gpus})",
                gpus,
                "lower replicas or raise the pool's nodes.max",
            )


@rule("cluster-size")
def cluster_size(spec: StackSpec) -> Iterator[Problem]:
    nodes = sum(p.nodes.max for p in spec.gpu_pools)
    if spec.cluster.provider == "aws":
        nodes += spec.cluster.system_nodes.max
    if nodes > MAX_NODES:
        yield Problem(
            "gpuPools",
            f"up to {nodes} nodes in one cluster; Kubernetes supports at most {MAX_NODES}",
            nodes,
            "split the fleet across clusters (stacks)",
        )


@rule("unique-entries")
def unique_entries(spec: StackSpec) -> Iterator[Problem]:
    """Set-like lists of objects: each prefetched model once, each GPU once in the rail mapping."""
    uris = [p if isinstance(p, str) else p.uri for p in spec.storage.model_cache.prefetch]
    for uri in sorted(u for u, n in Counter(uris).items() if n > 1):
        yield Problem("storage.modelCache.prefetch", "lists a model twice", uri, "list each model once")
    gpus = [r.gpu for r in spec.network.fabric.rail_mapping]
    for gpu in sorted(g for g, n in Counter(gpus).items() if n > 1):
        yield Problem("network.fabric.railMapping", "maps a GPU twice", gpu, "map each GPU once")
