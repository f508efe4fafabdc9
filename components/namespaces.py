"""The namespaces every layer places objects in, derived from the spec (one source, no layer creates its own)."""

from __future__ import annotations

import pulumi

from components import k8s as kobj
from components.context import PlatformContext
from components.layering import StackRefs
from components.outputs import NamespaceOutputs
from components.spec import StackSpec

KEDA_NAMESPACE = "keda"
PRIVILEGED_NAMESPACES: tuple[str, ...] = (
    "gpu-operator",
    "network-operator",
    "kube-system",
    "nvidia-dra-driver",
)


def kubernetes_namespace_labels(namespace: str) -> dict[str, str]:
    level = "privileged" if namespace in PRIVILEGED_NAMESPACES else "baseline"
    return {"pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/warn": "restricted"}


def namespaces_for(spec: StackSpec) -> list[str]:
    """Every namespace the stack needs, sorted."""
    names = {"gpu-operator", spec.serving.dynamo.namespace, "model-cache"}
    if any(p.compute_domain for p in spec.gpu_pools):
        names.add("nvidia-dra-driver")  # NVIDIA DRA driver for GB200 ComputeDomains (gpu_nodepools/operator.py)
    if spec.network.fabric.type in ("infiniband", "roce"):
        names.add("network-operator")
    if spec.observability.enabled and spec.observability.prometheus.mode == "deploy":
        names.add(spec.observability.prometheus.namespace)
    names.update(q.resolved_namespace for q in spec.scheduling.queues)
    for m in spec.serving.models:
        names.add(model_namespace(spec, m.name))
    names.update(t.namespace for t in spec.serving.triton)
    if spec.serving.models and spec.serving.dynamo.kai_scheduler:
        names.add("kai-scheduler")  # KAI Scheduler release (serving/platform.py)
    if spec.serving.models and spec.serving.dynamo.grove:
        names.add("grove-system")  # Grove operator release (serving/platform.py)
    if any(m.autoscaling.mode == "keda" for m in spec.serving.models):
        names.add(KEDA_NAMESPACE)
    if any(p.acceptance.enabled for p in spec.gpu_pools):
        names.add("gpu-acceptance")  # the per-pool burn-in (gpu_nodepools/acceptance.py)
    names.discard("kube-system")
    return sorted(names)


def model_namespace(spec: StackSpec, model_name: str) -> str:
    """A model's namespace: explicit, else its tenant's, else `dynamo`."""
    model = next(m for m in spec.serving.models if m.name == model_name)
    if model.namespace:
        return model.namespace
    if model.tenant:
        queue = next((q for q in spec.scheduling.queues if q.name == model.tenant), None)
        if queue:
            return queue.resolved_namespace
    return "dynamo"


def namespace_manifest(name: str) -> kobj.Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": kobj.metadata(name, labels=kubernetes_namespace_labels(name)),
    }


def build(ctx: PlatformContext, parent: pulumi.Resource) -> NamespaceOutputs:
    by_name: dict[str, pulumi.Resource] = {}
    for name in namespaces_for(ctx.spec):
        # what ctx.k8s_opts(parent) gives, without its namespace lookup (that reads this layer's own outputs)
        opts = pulumi.ResourceOptions(parent=parent, provider=ctx.cluster.k8s_provider, depends_on=None, protect=False)
        by_name[name] = kobj.apply(namespace_manifest(name), opts)
    return NamespaceOutputs(by_name=by_name)


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> NamespaceOutputs:
    """In a later layer stack: the namespaces exist (infra is up before it); nothing to depend on here."""
    return NamespaceOutputs()
