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
from components.catalog import GPUS
from components.catalog.dynamo import DynamoRelease, release
from components.outputs import FabricProfile
from components.rules.spine import weights_per_gpu_bytes
from components.spec import StackSpec
from components.spec.serving import ModelSpec, WorkerSpec
from serving import engines, kv, pods, routing

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
SIDECAR_FRONTEND_RESOURCES = ("2", 8)  # the per-worker frontend of the Inference Gateway path
TOPOLOGY_NAME = "inference-ra"  # the Grove ClusterTopologyBinding the fabric layer creates (networking/topology.py)


@dataclass(frozen=True)
class PoolInputs:
    """What a model's worker pods take from earlier layers for their pool (serving/layer.py reads it from the
    context): the fabric profile (`ctx.fabric.profiles`), the acceptance gate's node selector entries
    (`ctx.acceptance.node_selectors`, empty unless the pool is gated), the local NVMe StorageClass of the KV disk
    tier (`ctx.storage.kv_disk_classes`, None when the pool has no local NVMe) and, on a GB200 pool, the
    ResourceClaimTemplate of its ComputeDomain's IMEX channel in the model's namespace
    (`ctx.compute.compute_domains`)."""

    fabric: FabricProfile
    gate_selector: Mapping[str, str] = field(default_factory=dict)
    kv_disk_class: str | None = None
    channel_template: str | None = None


def control_resources(cpu: str, memory_gi: int) -> dict[str, Any]:
    """Requests and a memory limit for a CPU-only component (no CPU limit: throttling a router hurts latency)."""
    return {"requests": {"cpu": cpu, "memory": f"{memory_gi}Gi"}, "limits": {"memory": f"{memory_gi}Gi"}}


ROLE_TYPES = {"worker": "worker", "prefill": "prefill", "decode": "decode"}


def dynamo_release(spec: StackSpec) -> DynamoRelease:
    """The catalog entry of `serving.dynamo.version` (the dynamo-version rule rejects unknown ones first)."""
    return release(spec.serving.dynamo.version)


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


def trtllm_free_memory_fraction(spec: StackSpec, model: ModelSpec, w: WorkerSpec) -> float | None:
    """TensorRT-LLM's --free-gpu-memory-fraction is a share of the memory left after the weights, not of the HBM:
    the same KV budget as vLLM's --gpu-memory-utilization u is (u x HBM - weights) / (HBM - weights) of it."""
    pool = spec.pool(model.pool)
    gpu = GPUS.get(pool.gpu) if pool else None
    weights = weights_per_gpu_bytes(spec, model, w)
    if gpu is None or weights is None or weights >= gpu.hbm_bytes:
        return None
    fraction = (model.gpu_memory_utilization * gpu.hbm_bytes - weights) / (gpu.hbm_bytes - weights)
    return round(min(max(fraction, 0.01), 1.0), 3)  # weights-fit-hbm rejects a graph whose weights leave no KV


def engine_inputs(
    spec: StackSpec, model: ModelSpec, role: str, w: WorkerSpec, fabric: FabricProfile, rel: DynamoRelease
) -> engines.EngineInputs:
    return engines.EngineInputs(
        release=rel,
        nixl_backend=fabric.nixl_backend,
        publish_kv_events=engines.publishes_kv_events(model, role),
        trtllm_free_memory_fraction=trtllm_free_memory_fraction(spec, model, w) if model.engine == "trtllm" else None,
    )


def worker_component(
    spec: StackSpec, model: ModelSpec, role: str, w: WorkerSpec, inputs: PoolInputs, rel: DynamoRelease
) -> dict[str, Any]:
    pool = spec.pool(model.pool)
    assert pool is not None  # model-references rule
    fabric: FabricProfile = inputs.fabric
    nodes = nodes_per_replica(spec, model, w)
    gpus_per_pod = w.gpus_per_replica // nodes
    cmd = engines.worker_command(model, role, w, engine_inputs(spec, model, role, w, fabric, rel))

    resources: dict[str, Any] = pods.worker_resources(fabric, gpus_per_pod)
    cpu, memory_gi = worker_host_resources(spec, model, role, gpus_per_pod)
    resources["memory"] = f"{memory_gi}Gi"  # request = limit: the pinned KV tier must not be reclaimed
    requests = {**resources, "cpu": str(cpu)}

    env = _env({"HF_HOME": C.HF_HOME}) + token_env(model) + _env(pods.fabric_env(fabric, model))
    env += kv.kv_env(model, role)
    mounts = [{"name": C.MODEL_CACHE_CLAIM, "mountPath": C.MODEL_CACHE_MOUNT}]
    volumes: list[dict[str, Any]] = [
        {"name": C.MODEL_CACHE_CLAIM, "persistentVolumeClaim": {"claimName": C.MODEL_CACHE_CLAIM}}
    ]
    if kv.needs_disk(model, role):
        mounts.append({"name": kv.KV_DISK_VOLUME, "mountPath": kv.KV_DISK_MOUNT})
        volumes.append(_disk_volume(model, inputs))

    container: dict[str, Any] = {
        "name": "main",
        "image": pods.worker_image(spec, model, rel, pods.uses_fabric_image(fabric, model, nodes)),
        "command": cmd.command,
        "args": cmd.args,
        "env": env,
        "resources": {"requests": requests, "limits": resources},
        "volumeMounts": mounts,
    }
    if grants := pods.fabric_grants(fabric, model, role):
        container["securityContext"] = grants
    _, sched = _scheduling(spec, model)
    pod_spec: dict[str, Any] = {
        "containers": [container],
        # a gated pool's nodes serve only once their burn-in passed (nodes that join later included)
        "nodeSelector": {C.POOL_LABEL: pool.name, **inputs.gate_selector},
        "tolerations": [dict(C.GPU_TOLERATION)],
        "volumes": volumes,
        **sched,
    }
    if inputs.channel_template is not None:  # GB200: the IMEX channel of the pool's ComputeDomain
        claim_fields, claims = pods.compute_domain_claim(inputs.channel_template)
        pod_spec.update(claim_fields)
        container["resources"]["claims"] = claims
    component: dict[str, Any] = {
        "name": role,
        "type": ROLE_TYPES[role],
        "replicas": w.replicas,
        "sharedMemorySize": f"{model.shared_memory_gi}Gi",
        "podTemplate": {"metadata": _worker_metadata(spec, model, role, fabric), "spec": pod_spec},
    }
    if spec.serving.routing.inference_gateway:
        routing.add_frontend_sidecar(component, _sidecar_frontend(model, rel, spec))
    if nodes > 1:
        component["multinode"] = {"nodeCount": nodes}
        if spec.scheduling.topology_aware:
            component["topologyConstraint"] = {"packDomain": pack_domain(spec, model)}
    if model.autoscaling.mode != "none":
        component["scalingAdapter"] = {}  # the operator creates DGDSA `<graph>-<role>` owning replicas
    return component


def _worker_metadata(spec: StackSpec, model: ModelSpec, role: str, fabric: FabricProfile) -> dict[str, Any]:
    metadata: dict[str, Any] = {"labels": _pod_labels(spec, model, role)}
    if fabric.annotations:
        metadata["annotations"] = dict(fabric.annotations)
    return metadata


def pack_domain(spec: StackSpec, model: ModelSpec) -> str:
    """Where one multinode replica is packed (scheduling.topologyAware): inside an NVLink domain on a ComputeDomain
    (GB200) pool, else inside a rail group (Grove `block`: one switch hop on every rail). Domain names are the
    levels of the ClusterTopologyBinding `inference-ra` (networking/topology.py)."""
    pool = spec.pool(model.pool)
    return "nvlink-domain" if pool is not None and pool.compute_domain else "block"


def _sidecar_frontend(model: ModelSpec, rel: DynamoRelease, spec: StackSpec) -> dict[str, Any]:
    return {
        "name": routing.SIDECAR_FRONTEND,
        "image": pods.runtime_image(spec, model, rel),
        "command": ["python3", "-m", "dynamo.frontend"],
        "args": routing.sidecar_frontend_args(),
        "env": _env({"HF_HOME": C.HF_HOME}) + token_env(model),
        "resources": control_resources(*SIDECAR_FRONTEND_RESOURCES),
        "volumeMounts": [{"name": C.MODEL_CACHE_CLAIM, "mountPath": C.MODEL_CACHE_MOUNT}],
    }


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


def frontend_component(spec: StackSpec, model: ModelSpec, rel: DynamoRelease) -> dict[str, Any]:
    _, sched = _scheduling(spec, model)
    container = {
        "name": "main",
        "image": pods.runtime_image(spec, model, rel),
        "command": ["python3", "-m", "dynamo.frontend"],
        "args": routing.frontend_args(model),
        "env": _env({"HF_HOME": C.HF_HOME}) + token_env(model) + routing.frontend_env(model, rel),
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


def planner_component(spec: StackSpec, model: ModelSpec, prometheus: str | None, rel: DynamoRelease) -> dict[str, Any]:
    """Dynamo Planner in SLA mode on the model's TTFT/ITL targets, bounded by the spec's replica limits."""
    _, sched = _scheduling(spec, model)
    env = [{"name": "PROMETHEUS_ENDPOINT", "value": prometheus}] if prometheus else []
    container = {
        "name": "main",
        "image": pods.runtime_image(spec, model, rel),
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
    prometheus: str | None = None,
) -> kobj.Manifest:
    """The DynamoGraphDeployment of one model, exactly as applied; `inputs` are its pool's hand-offs.

    With `serving.routing.inferenceGateway` the graph is shaped like Dynamo's gaie examples: no standalone frontend,
    a frontend sidecar in every worker pod routing where the EPP says (`--router-mode direct`), and an `epp`
    component; the operator creates the InferencePool `<graph>-pool` pointing at it."""
    rel = dynamo_release(spec)
    gateway = spec.serving.routing.inference_gateway
    components = [] if gateway else [frontend_component(spec, model, rel)]
    components += [worker_component(spec, model, role, w, inputs, rel) for role, w in model.workers().items()]
    if model.autoscaling.mode == "planner-sla":
        components.append(planner_component(spec, model, prometheus, rel))
    if gateway:
        image = spec.serving.dynamo.images.get("epp") or rel.epp_image
        components.append(routing.epp_component(model, image))
    annotations = {GROVE_ANNOTATION: "true" if spec.serving.dynamo.grove else "false"}
    if spec.serving.dynamo.kai_scheduler and model.tenant:
        annotations[KAI_QUEUE_ANNOTATION] = model.tenant
    graph_spec: dict[str, Any] = {
        "backendFramework": model.engine,
        "components": [podsecurity.secure_graph_component(c) for c in components],
    }
    if spec.scheduling.topology_aware and any(c.get("topologyConstraint") for c in components):
        graph_spec["topologyConstraint"] = {"clusterTopologyName": TOPOLOGY_NAME}
    return {
        "apiVersion": rel.graph_api,
        "kind": "DynamoGraphDeployment",
        "metadata": kobj.metadata(model.name, namespace, {MODEL_LABEL: model.name}, annotations),
        "spec": graph_spec,
    }


def scaled_components(model: ModelSpec) -> dict[str, str]:
    """{worker role: component name} of the components that carry `scalingAdapter` (empty without autoscaling)."""
    return {role: role for role in model.workers()} if model.autoscaling.mode != "none" else {}


def disruption_budgets(model: ModelSpec, namespace: str, gateway: bool = False) -> list[kobj.Manifest]:
    """One PDB per serving component (frontend and each worker role), selecting on the graph label the Dynamo
    operator stamps on every pod (deploy/operator/internal/consts: nvidia.com/dynamo-graph-deployment-name) and the
    role label this stack puts in every pod template (the operator's component-type value for workers differs
    between operator versions: `worker` or the role). maxUnavailable 1 lets drains proceed one pod at a time."""
    roles = [*([] if gateway else ["frontend"]), *model.workers()]
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
