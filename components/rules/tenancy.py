"""Rules of the tenancy, Triton and KEDA layers: queues fit the cluster, tenants stay out of system namespaces,
Triton lands on a pool that has the GPUs it asks for, and KEDA has a Prometheus and latency targets to scale on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from components.constants import MODEL_CACHE_MOUNT
from components.rules import Problem, one_of, rule
from components.spec import StackSpec

# Namespaces a tenant must never share: a default-deny NetworkPolicy there would cut the platform itself off.
SYSTEM_NAMESPACES: frozenset[str] = frozenset(
    {
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "gpu-operator",
        "network-operator",
        "nvidia-dra-driver",
        "model-cache",
        "keda",
    }
)


def cluster_gpus(spec: StackSpec) -> int | None:
    """GPUs of every pool at its maximum size; None when a pool's node type is unknown (pool-catalog says so)."""
    total = 0
    for pool in spec.gpu_pools:
        nt = spec.node_type(pool)
        if nt is None:
            return None
        total += pool.nodes.max * nt.gpus
    return total


def platform_namespaces(spec: StackSpec) -> set[str]:
    names = set(SYSTEM_NAMESPACES) | {spec.serving.dynamo.namespace}
    if spec.observability.enabled:
        names.add(spec.observability.prometheus.namespace)
    return names


@rule("tenant-queues")
def tenant_queues(spec: StackSpec) -> Iterator[Problem]:
    queues = spec.scheduling.queues
    kai = spec.serving.dynamo.kai_scheduler
    for i, q in enumerate(queues):
        at = f"scheduling.queues[{i}]"
        if q.gpu_limit is not None and q.gpu_limit < q.gpu_quota:
            yield Problem(
                f"{at}.gpuLimit",
                f"is below the queue's guaranteed gpuQuota {q.gpu_quota}",
                q.gpu_limit,
                f"set gpuLimit >= {q.gpu_quota} or leave it unset (no limit)",
            )
        if not kai and (q.gpu_quota or q.gpu_limit is not None or q.priority is not None):
            yield Problem(
                at,
                "GPU quota, limit and priority are enforced by KAI Scheduler queues, but "
                "serving.dynamo.kaiScheduler is false, so they would be silently ignored",
                q.name,
                "set serving.dynamo.kaiScheduler: true, or drop gpuQuota/gpuLimit/priority",
            )
    total = sum(q.gpu_quota for q in queues)
    gpus = cluster_gpus(spec)
    if gpus is not None and total > gpus:
        yield Problem(
            "scheduling.queues",
            f"the tenants' guaranteed GPUs add up to {total} but the pools hold at most {gpus} "
            "(sum of nodes.max x GPUs per node)",
            total,
            "lower gpuQuota of some queues or grow the pools",
        )
    if any(q.name == spec.scheduling.parent_queue for q in queues):
        yield Problem(
            "scheduling.parentQueue",
            "is also the name of a tenant queue; the parent queue holds the tenants and cannot be one",
            spec.scheduling.parent_queue,
            "rename the parent queue or the tenant",
        )


@rule("tenant-namespaces")
def tenant_namespaces(spec: StackSpec) -> Iterator[Problem]:
    reserved = platform_namespaces(spec)
    seen = Counter(q.resolved_namespace for q in spec.scheduling.queues)
    for i, q in enumerate(spec.scheduling.queues):
        ns = q.resolved_namespace
        if ns in reserved:
            yield Problem(
                f"scheduling.queues[{i}].namespace",
                "is a platform namespace; the tenant's default-deny NetworkPolicy and quota would apply to the "
                "platform's own pods",
                ns,
                "give the tenant its own namespace",
            )
        if seen[ns] > 1:
            yield Problem(
                f"scheduling.queues[{i}].namespace",
                "is shared with another tenant; quotas and policies are per namespace",
                ns,
                "give each tenant its own namespace",
            )


@rule("triton-placement")
def triton_placement(spec: StackSpec) -> Iterator[Problem]:
    for i, t in enumerate(spec.serving.triton):
        at = f"serving.triton[{i}]"
        if t.replicas > t.max_replicas:
            yield Problem(f"{at}.replicas", "exceeds maxReplicas", t.replicas, f"set <= {t.max_replicas}")
        if "tensorrt" in t.backends and t.gpus == 0:
            yield Problem(
                f"{at}.gpus",
                "the tensorrt backend runs TensorRT plans, which need a GPU",
                0,
                "set gpus >= 1 and a pool, or drop the tensorrt backend",
            )
        if t.pool is None:
            if t.gpus > 0:
                yield Problem(
                    f"{at}.pool",
                    f"{t.gpus} GPUs per replica need a GPU pool",
                    None,
                    f"set pool to one of {sorted(spec.pools_by_name)} or gpus: 0 for CPU serving",
                )
            continue
        pool = spec.pool(t.pool)
        if pool is None:
            yield Problem(f"{at}.pool", "names no GPU pool", t.pool, one_of(t.pool, list(spec.pools_by_name)))
            continue
        nt = spec.node_type(pool)
        if nt is None:
            continue
        if t.gpus > nt.gpus:
            yield Problem(
                f"{at}.gpus",
                f"pool '{pool.name}' ({pool.instance_type}) has {nt.gpus} GPUs per node",
                t.gpus,
                f"set gpus <= {nt.gpus}",
            )
        elif t.gpus and t.max_replicas * t.gpus > pool.nodes.max * nt.gpus:
            yield Problem(
                f"{at}.maxReplicas",
                f"{t.max_replicas} replicas x {t.gpus} GPUs exceed pool '{pool.name}''s "
                f"{pool.nodes.max * nt.gpus} GPUs ({pool.nodes.max} nodes x {nt.gpus})",
                t.max_replicas,
                "lower maxReplicas or raise the pool's nodes.max",
            )


@rule("triton-repository")
def triton_repository(spec: StackSpec) -> Iterator[Problem]:
    for i, t in enumerate(spec.serving.triton):
        at = f"serving.triton[{i}]"
        repo = t.repository
        if repo.startswith("s3://"):
            if len(repo.removeprefix("s3://").strip("/")) == 0:
                yield Problem(f"{at}.repository", "names no bucket", repo, "use s3://bucket/prefix")
            if spec.cluster.provider != "aws" and not t.s3_credentials_secret:
                yield Problem(
                    f"{at}.s3CredentialsSecret",
                    "an s3:// repository off AWS needs credentials (there is no IRSA role to assume)",
                    None,
                    "name a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and set s3Endpoint for an "
                    "S3-compatible store)",
                )
            continue
        if "://" in repo:
            yield Problem(
                f"{at}.repository",
                "unsupported scheme: the repository is s3:// or a path in the model cache",
                repo,
                f"use s3://bucket/prefix or a path under {MODEL_CACHE_MOUNT}",
            )
            continue
        if repo.startswith("/") and not (repo == MODEL_CACHE_MOUNT or repo.startswith(MODEL_CACHE_MOUNT + "/")):
            yield Problem(
                f"{at}.repository",
                f"an absolute path must lie in the model cache mounted at {MODEL_CACHE_MOUNT}",
                repo,
                f"use {MODEL_CACHE_MOUNT}/<dir> or a path relative to the cache",
            )
        if ".." in repo.split("/"):
            yield Problem(f"{at}.repository", "must not leave the model cache", repo, "remove '..'")
        if t.s3_endpoint or t.s3_credentials_secret or t.s3_region:
            yield Problem(
                f"{at}.s3Endpoint",
                "S3 settings apply only to an s3:// repository",
                t.s3_endpoint or t.s3_credentials_secret or t.s3_region,
                "drop them or use an s3:// repository",
            )


def prometheus_available(spec: StackSpec) -> bool:
    prom = spec.observability.prometheus
    if prom.url:
        return True
    return spec.observability.enabled and prom.mode == "deploy"


@rule("keda-autoscaling")
def keda_autoscaling(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        if m.autoscaling.mode != "keda":
            continue
        at = f"serving.models[{i}]"
        if not prometheus_available(spec):
            yield Problem(
                f"{at}.autoscaling.mode",
                "KEDA scales on Prometheus queries but the stack has no Prometheus "
                "(observability disabled, or prometheus.mode external without url)",
                "keda",
                "enable observability with prometheus.mode deploy, or set observability.prometheus.url",
            )
        if m.slo is None:
            yield Problem(
                f"{at}.slo",
                "KEDA triggers scale on the TTFT/ITL targets, and the model has none",
                None,
                "set slo: {ttftMs: ..., itlMs: ...}",
            )
        if m.autoscaling.min_replicas == 0:
            yield Problem(
                f"{at}.autoscaling.minReplicas",
                "latency triggers cannot wake a worker from zero: with no worker there are no latency samples",
                0,
                "set minReplicas >= 1",
            )
