"""The namespaces every layer places objects in, derived from the spec (one source, no layer creates its own)."""

from __future__ import annotations

import pulumi

from components import k8s as kobj
from components.platform import PlatformContext, kubernetes_namespace_labels
from components.spec import StackSpec


def namespaces_for(spec: StackSpec) -> list[str]:
    """Every namespace the stack needs, sorted."""
    names = {"gpu-operator", spec.serving.dynamo.namespace, "model-cache"}
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


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    for name in namespaces_for(ctx.spec):
        ctx.namespaces[name] = kobj.apply(namespace_manifest(name), ctx.k8s_opts(parent))  # type: ignore[assignment]
