"""One DynamoGraphDeployment (`nvidia.com/v1beta1`) per model, and a PodDisruptionBudget per component.

Component layout (stable names: they become the operator's child names and the scaling adapters'
`<graph>-<component>` names that KEDA targets):
  frontend (type frontend)   HTTP + router, CPU nodes
  worker   (type worker)     aggregated mode
  prefill / decode           disaggregated mode, KV handed over NIXL
  planner  (type planner)    autoscaling.mode planner-sla
  epp      (type epp)        serving.routing.inferenceGateway
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components import constants as C
from components import k8s as kobj
from components import podsecurity
from components.outputs import FabricProfile
from components.spec import StackSpec
from components.spec.serving import ModelSpec, WorkerSpec
from serving import engines, kv, routing

API_VERSION = "nvidia.com/v1beta1"
KAI_QUEUE_ANNOTATION = "nvidia.com/kai-scheduler-queue"  # operator: queue of the graph's pods (default "dynamo")
KAI_QUEUE_LABEL = "kai.scheduler/queue"  # the label KAI reads; the operator injects the same value
KAI_SCHEDULER = "kai-scheduler"
GROVE_ANNOTATION = "nvidia.com/enable-grove"  # "false" selects the component (Deployment/LWS) pathway
MODEL_LABEL = "inference-ra.nvidia.com/model"
WORKER_HOST_OVERHEAD_GI = 32  # host RAM per worker beyond the pinned KV tier: engine, tokenizer, NCCL buffers
ROLE_LABEL = "inference-ra.nvidia.com/role"  # frontend | worker | prefill | decode | planner, on every pod template
NODE_SHARE = 0.75  # share of a node's CPUs / RAM a GPU pod may claim per GPU (the rest: daemons, kubelet, cache)
# Control-plane components of a graph: (CPU request, memory request = limit, GiB).
FRONTEND_RESOURCES = ("4", 16)
PLANNER_RESOURCES = ("1", 4)


@dataclass(frozen=True)
class PoolInputs:
    """What a model's worker pods take from earlier layers for their pool (serving/layer.py reads it from the
    context): the fabric profile (`ctx.fabric.profiles`), the acceptance gate's node selector entries
    (`ctx.acceptance.node_selectors`, empty unless the pool is gated) and the local NVMe StorageClass of the KV disk
    tier (`ctx.storage.kv_disk_classes`, None when the pool has no local NVMe)."""

    fabric: FabricProfile
    gate_selector: Mapping[str, str] = field(default_factory=dict)
    kv_disk_class: str | None = None


def control_resources(cpu: str, memory_gi: int) -> dict[str, Any]:
    """Requests and a memory limit for a CPU-only component (no CPU limit: throttling a router hurts latency)."""
    return {"requests": {"cpu": cpu, "memory": f"{memory_gi}Gi"}, "limits": {"memory": f"{memory_gi}Gi"}}


ROLE_TYPES = {"worker": "worker", "prefill": "prefill", "decode": "decode"}


def image(model: ModelSpec) -> str:
    from components.catalog.versions import IMAGES

    return IMAGES[model.engine]


def nodes_per_replica(spec: StackSpec, model: ModelSpec, w: WorkerSpec) -> int:
    pool = spec.pool(model.pool)
    nt = spec.node_type(pool) if pool else None
    if not w.multinode or nt is None:
        return 1
    return max(1, -(-w.gpus_per_replica // nt.gpus))


def _env(pairs: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in pairs.items()]


def token_env(model: ModelSpec) -> list[dict[str, Any]]:
    if model.token_secret == "hf":
        ref = {"name": C.HF_TOKEN_SECRET, "key": "HF_TOKEN"}
        return [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": ref}}]
    if model.token_secret == "ngc":
        ref = {"name": C.NGC_TOKEN_SECRET, "key": "NGC_API_KEY"}
        return [{"name": "NGC_API_KEY", "valueFrom": {"secretKeyRef": ref}}]
    return []


def _scheduling(spec: StackSpec, model: ModelSpec) -> tuple[dict[str, str], dict[str, Any]]:
    """Pod labels and pod-spec fields that put a graph's pods in its tenant's KAI queue."""
    if spec.serving.dynamo.kai_scheduler and model.tenant:
        return {KAI_QUEUE_LABEL: model.tenant}, {"schedulerName": KAI_SCHEDULER}
    return {}, {}


def _pod_labels(spec: StackSpec, model: ModelSpec, role: str) -> dict[str, str]:
    labels, _ = _scheduling(spec, model)
    return {MODEL_LABEL: model.name, ROLE_LABEL: role, **labels}


def worker_component(
    spec: StackSpec, model: ModelSpec, role: str, w: WorkerSpec, inputs: PoolInputs, region: str | None
) -> dict[str, Any]:
    pool = spec.pool(model.pool)
    assert pool is not None  # model-references rule
    fabric: FabricProfile = inputs.fabric
    nodes = nodes_per_replica(spec, model, w)
    gpus_per_pod = w.gpus_per_replica // nodes
    cmd = engines.worker_command(model, role, w)

    resources: dict[str, Any] = {"nvidia.com/gpu": str(gpus_per_pod)}
    resources.update({k: str(v) for k, v in sorted(fabric.resources.items())})
    cpu, memory_gi = worker_host_resources(spec, model, role, gpus_per_pod)
    resources["memory"] = f"{memory_gi}Gi"  # request = limit: the pinned KV tier must not be reclaimed
    requests = {**resources, "cpu": str(cpu)}

    env = _env({"HF_HOME": C.HF_HOME}) + token_env(model) + _env(dict(sorted(fabric.env.items())))
    env += kv.kv_env(model, role, region)
    mounts = [{"name": C.MODEL_CACHE_CLAIM, "mountPath": C.MODEL_CACHE_MOUNT}]
    volumes: list[dict[str, Any]] = [
        {"name": C.MODEL_CACHE_CLAIM, "persistentVolumeClaim": {"claimName": C.MODEL_CACHE_CLAIM}}
    ]
    if kv.needs_disk(model, role):
        mounts.append({"name": kv.KV_DISK_VOLUME, "mountPath": kv.KV_DISK_MOUNT})
        volumes.append(_disk_volume(model, inputs))

    container: dict[str, Any] = {
        "name": "main",
        "image": image(model),
        "command": cmd.command,
        "args": cmd.args,
        "env": env,
        "resources": {"requests": requests, "limits": resources},
        "volumeMounts": mounts,
    }
    if fabric.capabilities:
        container["securityContext"] = {"capabilities": {"add": list(fabric.capabilities)}}
    _, sched = _scheduling(spec, model)
    pod_spec: dict[str, Any] = {
        "containers": [container],
        # a gated pool's nodes serve only once their burn-in passed (nodes that join later included)
        "nodeSelector": {C.POOL_LABEL: pool.name, **inputs.gate_selector},
        "tolerations": [dict(C.GPU_TOLERATION)],
        "volumes": volumes,
        **sched,
    }
    metadata: dict[str, Any] = {"labels": _pod_labels(spec, model, role)}
    if fabric.annotations:
        metadata["annotations"] = dict(fabric.annotations)
    component: dict[str, Any] = {
        "name": role,
        "type": ROLE_TYPES[role],
        "replicas": w.replicas,
        "sharedMemorySize": f"{model.shared_memory_gi}Gi",
        "podTemplate": {"metadata": metadata, "spec": pod_spec},
    }
    if nodes > 1:
        component["multinode"] = {"nodeCount": nodes}
    if model.autoscaling.mode != "none":
        component["scalingAdapter"] = {}  # the operator creates DGDSA `<graph>-<role>` owning replicas
    return component


def worker_host_resources(spec: StackSpec, model: ModelSpec, role: str, gpus_per_pod: int) -> tuple[int, int]:
    """(CPUs, memory GiB) of one worker pod: its GPUs' share of the node, and never less than the host-RAM KV tier
    plus the engine's own overhead."""
    pool = spec.pool(model.pool)
    nt = spec.node_type(pool) if pool else None
    assert nt is not None  # pool-catalog rule
    share = gpus_per_pod / nt.gpus * NODE_SHARE
    cpu = max(1, int(nt.vcpus * share))
    floor = WORKER_HOST_OVERHEAD_GI + (model.kv_cache.cpu_gi if kv.offloads(model, role) else 0)
    return cpu, max(floor, int(nt.memory_gib * share))


def _disk_volume(model: ModelSpec, inputs: PoolInputs) -> dict[str, Any]:
    """The G3 tier on the pool's local NVMe (the storage layer owns how that volume is provisioned)."""
    if inputs.kv_disk_class is None:  # the kv-cache-tiers rule requires local NVMe for a disk tier
        raise ValueError(f"pool '{model.pool}' has no localNvme: it has no NVMe StorageClass")
    return kv.kv_disk_volume(inputs.kv_disk_class, model.kv_cache.disk_gi, kv.KV_DISK_VOLUME)


def frontend_component(spec: StackSpec, model: ModelSpec) -> dict[str, Any]:
    _, sched = _scheduling(spec, model)
    container = {
        "name": "main",
        "image": image(model),
        "command": ["python3", "-m", "dynamo.frontend"],
        "args": routing.frontend_args(model),
        "env": _env({"HF_HOME": C.HF_HOME}) + token_env(model) + routing.frontend_env(model),
        "resources": control_resources(*FRONTEND_RESOURCES),
        "volumeMounts": [{"name": C.MODEL_CACHE_CLAIM, "mountPath": C.MODEL_CACHE_MOUNT}],
    }
    return {
        "name": "frontend",
        "type": "frontend",
        "replicas": model.frontend_replicas,
        "podTemplate": {
            "metadata": {"labels": _pod_labels(spec, model, "frontend")},
            "spec": {
                "containers": [container],
                "volumes": [{"name": C.MODEL_CACHE_CLAIM, "persistentVolumeClaim": {"claimName": C.MODEL_CACHE_CLAIM}}],
                **sched,
            },
        },
    }


def planner_config(spec: StackSpec, model: ModelSpec) -> dict[str, Any]:
    """`python3 -m dynamo.planner --config` (PlannerConfig): SLA optimisation on the model's TTFT/ITL, Kubernetes
    connector (scales the graph's scaling adapters), GPU budget = maxReplicas x the largest replica."""
    assert model.slo is not None  # planner-sla-needs rule
    widths = {role: w.gpus_per_replica for role, w in model.workers().items()}
    cfg: dict[str, Any] = {
        "environment": "kubernetes",
        "backend": model.engine,
        "mode": "disagg" if model.mode == "disaggregated" else "agg",
        "optimization_target": "sla",
        "ttft_ms": model.slo.ttft_ms,
        "itl_ms": model.slo.itl_ms,
        "min_endpoint": model.autoscaling.min_replicas,
        "max_gpu_budget": model.autoscaling.max_replicas * max(widths.values(), default=1),
    }
    if "prefill" in widths:
        cfg["prefill_engine_num_gpu"] = widths["prefill"]
    if "decode" in widths:
        cfg["decode_engine_num_gpu"] = widths["decode"]
    return cfg


def planner_component(spec: StackSpec, model: ModelSpec, prometheus: str | None) -> dict[str, Any]:
    """Dynamo Planner in SLA mode on the model's TTFT/ITL targets, bounded by the spec's replica limits."""
    _, sched = _scheduling(spec, model)
    env = [{"name": "PROMETHEUS_ENDPOINT", "value": prometheus}] if prometheus else []
    container = {
        "name": "main",
        "image": image(model),
        "command": ["python3", "-m", "dynamo.planner"],
        "args": ["--config", kv.compact_json(planner_config(spec, model))],
        "env": env,
        "resources": control_resources(*PLANNER_RESOURCES),
    }
    return {
        "name": "planner",
        "type": "planner",
        "replicas": 1,
        "podTemplate": {
            "metadata": {"labels": _pod_labels(spec, model, "planner")},
            "spec": {"containers": [container], **sched},
        },
    }


def graph_manifest(
    spec: StackSpec,
    model: ModelSpec,
    namespace: str,
    inputs: PoolInputs,
    *,
    region: str | None = None,
    prometheus: str | None = None,
) -> kobj.Manifest:
    """The DynamoGraphDeployment of one model, exactly as applied; `inputs` are its pool's hand-offs."""
    components = [frontend_component(spec, model)]
    components += [worker_component(spec, model, role, w, inputs, region) for role, w in model.workers().items()]
    if model.autoscaling.mode == "planner-sla":
        components.append(planner_component(spec, model, prometheus))
    if spec.serving.routing.inference_gateway:
        components.append(routing.epp_component(model, image(model)))
    annotations = {GROVE_ANNOTATION: "true" if spec.serving.dynamo.grove else "false"}
    if spec.serving.dynamo.kai_scheduler and model.tenant:
        annotations[KAI_QUEUE_ANNOTATION] = model.tenant
    return {
        "apiVersion": API_VERSION,
        "kind": "DynamoGraphDeployment",
        "metadata": kobj.metadata(model.name, namespace, {MODEL_LABEL: model.name}, annotations),
        "spec": {
            "backendFramework": model.engine,
            "components": [podsecurity.secure_graph_component(c) for c in components],
        },
    }


def disruption_budgets(model: ModelSpec, namespace: str) -> list[kobj.Manifest]:
    """One PDB per serving component (frontend and each worker role), selecting on the graph label the Dynamo
    operator stamps on every pod (deploy/operator/internal/consts: nvidia.com/dynamo-graph-deployment-name) and the
    role label this stack puts in every pod template (the operator's component-type value for workers differs
    between operator versions: `worker` or the role). maxUnavailable 1 lets drains proceed one pod at a time."""
    roles = ["frontend", *model.workers()]
    return [
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": kobj.metadata(f"{model.name}-{role}", namespace, {MODEL_LABEL: model.name}),
            "spec": {
                "maxUnavailable": 1,
                "selector": {"matchLabels": {routing.GRAPH_LABEL: model.name, ROLE_LABEL: role}},
            },
        }
        for role in roles
    ]
