"""GPU rules: GPU pools carry the nvidia.com/gpu taint, GPU workloads tolerate it and ask for GPUs in limits, and
the DCGM exporter runs wherever there are GPU pools.

Chart objects are resources like any other: synth renders every chart (stacks/charts) and `check` passes the
rendered objects; under `pulumi up` the Kubernetes provider registers a chart's children, which CrossGuard sees.
So the exporter rule reads the ClusterPolicy the GPU Operator chart renders (or a dcgm-exporter DaemonSet), never
the chart resource's values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from components.catalog import NODE_TYPES
from components.constants import GPU_MODEL_LABEL, GPU_TAINT, POOL_LABEL
from policies.registry import Resource, RuleContext, resource_rule, stack_rule
from policies.workloads import DGD_KIND, GPU_RESOURCE, kind_of, mapping, name_of, pods

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
# EKS managed node group taint effects are the API's enum names.
EKS_EFFECT = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
GPU_NODE_LABELS = (POOL_LABEL, GPU_MODEL_LABEL, "nvidia.com/gpu.present", "nvidia.com/gpu.product")
GPU_ROLES = {"worker", "prefill", "decode", "main"}


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _gpu_instance(instance_type: Any) -> bool:
    nt = NODE_TYPES.get(str(instance_type))
    if nt is not None:
        return nt.gpus > 0
    family = str(instance_type).split(".")[0]
    return family[:1] in ("p", "g") and family[1:2].isdigit()  # EC2 accelerated families p4d, p5, g6e ...


def is_gpu_node_group(props: Mapping[str, Any]) -> bool:
    ami = str(props.get("amiType") or "")
    labels = mapping(props, "labels")
    return (
        any(_gpu_instance(t) for t in _seq(props.get("instanceTypes")))
        or "NVIDIA" in ami
        or "GPU" in ami
        or any(k in labels for k in GPU_NODE_LABELS)
    )


def _has_gpu_taint(taints: Any, eks: bool) -> bool:
    effect = EKS_EFFECT[GPU_TAINT["effect"]] if eks else GPU_TAINT["effect"]
    return any(
        isinstance(t, Mapping) and t.get("key") == GPU_TAINT["key"] and t.get("effect") == effect for t in _seq(taints)
    )


@resource_rule(
    "gpu-pools-tainted",
    "GPU node pools carry the nvidia.com/gpu:NoSchedule taint, so only GPU workloads land on GPU nodes.",
    level="mandatory",
    severity="high",
    remediation="Add the taint nvidia.com/gpu=present:NoSchedule (components/constants.py GPU_TAINT) to the node "
    "group / node patch / Karpenter NodePool.",
)
def gpu_pools_tainted(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    if resource_type == NODE_GROUP:
        if is_gpu_node_group(props) and not _has_gpu_taint(props.get("taints"), eks=True):
            yield f"GPU node group {props.get('nodeGroupName') or ctx.name!r} has no nvidia.com/gpu NO_SCHEDULE taint"
        return
    kind = kind_of(resource_type.removesuffix("Patch"), props)
    if kind == "Node":  # NodePatch of an existing cluster's GPU node
        labels = mapping(mapping(props, "metadata"), "labels")
        if any(k in labels for k in GPU_NODE_LABELS) and not _has_gpu_taint(
            mapping(props, "spec").get("taints"), eks=False
        ):
            yield f"GPU node {name_of(props)!r} is labelled for a GPU pool but has no nvidia.com/gpu:NoSchedule taint"
    elif kind == "NodePool" and resource_type.startswith("kubernetes:karpenter.sh/"):
        spec = mapping(mapping(mapping(props, "spec"), "template"), "spec")
        gpu = any(
            isinstance(r, Mapping)
            and (
                (
                    r.get("key") == "node.kubernetes.io/instance-type"
                    and any(_gpu_instance(v) for v in _seq(r.get("values")))
                )
                or (r.get("key") == "karpenter.k8s.aws/instance-gpu-count" and r.get("operator") in ("Gt", "In"))
            )
            for r in _seq(spec.get("requirements"))
        )
        if gpu and not _has_gpu_taint(spec.get("taints"), eks=False):
            yield f"Karpenter NodePool {name_of(props)!r} provisions GPU nodes without the nvidia.com/gpu taint"


@resource_rule(
    "gpu-workloads-tolerate-and-limit",
    "Pods that use GPUs tolerate the nvidia.com/gpu taint and request GPUs in limits (Dynamo workers included).",
    level="mandatory",
    severity="high",
    remediation="Add the toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} "
    "(components/constants.py GPU_TOLERATION) and resources.limits['nvidia.com/gpu'].",
)
def gpu_workloads_tolerate_and_limit(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    for pod in pods(resource_type, props):
        dynamo_worker = kind_of(resource_type, props) == DGD_KIND and pod.role in GPU_ROLES
        uses_gpu = pod.requests_gpus or dynamo_worker
        if not uses_gpu:
            continue
        for c in pod.containers:
            if GPU_RESOURCE in c.resources("requests") and GPU_RESOURCE not in c.resources("limits"):
                yield f"container {c.name!r} ({c.path}) requests {GPU_RESOURCE} without a limit; set it in limits"
        if dynamo_worker and not pod.requests_gpus and not pod.spec.get("resourceClaims"):
            yield f"Dynamo {pod.role} component ({pod.path}) asks for no GPUs; set limits['{GPU_RESOURCE}']"
        if not pod.tolerates_gpu_taint:
            yield f"GPU pod template {pod.path} does not tolerate the nvidia.com/gpu:NoSchedule taint"


@stack_rule(
    "dcgm-exporter-enabled",
    "Where the stack runs GPU pools or GPU workloads, the DCGM exporter is on (GPU Operator dcgmExporter).",
    level="advisory",
    severity="medium",
    remediation="Keep gpuOperator.dcgmExporter: true (GPU Operator chart value dcgmExporter.enabled).",
)
def dcgm_exporter_enabled(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    gpu_seen = False
    exporters: list[Resource] = []
    switched_off = False
    for r in resources:
        if (r.type == NODE_GROUP and is_gpu_node_group(r.props)) or any(p.requests_gpus for p in pods(r.type, r.props)):
            gpu_seen = True
        if kind_of(r.type, r.props) == "ClusterPolicy":  # rendered by the GPU Operator chart (stacks/charts)
            dcgm = mapping(mapping(r.props, "spec"), "dcgmExporter")
            if dcgm.get("enabled") is False:
                switched_off = True
                yield r.urn or None, "ClusterPolicy spec.dcgmExporter.enabled is false; GPU metrics are lost"
            else:
                exporters.append(r)
        elif kind_of(r.type, r.props) == "DaemonSet" and "dcgm-exporter" in name_of(r.props):
            exporters.append(r)
    if gpu_seen and not exporters and not switched_off:
        yield None, "the stack runs GPU nodes or GPU pods but deploys no DCGM exporter (GPU Operator or dcgm-exporter)"
