"""The namespaces every layer places objects in, derived from the spec (one source, no layer creates its own)."""

from __future__ import annotations

import pulumi

from components import k8s as kobj
from components.context import PlatformContext
from components.outputs import NamespaceOutputs
from components.spec import StackSpec

KEDA_NAMESPACE = "keda"
PRIVILEGED_NAMESPACES: tuple[str, ...] = (
    "gpu-operator",
    "network-operator",
    "kube-system",
    "nvidia-dra-driver",
)


# Namespaces whose pods come only from Helm charts the plan does not render (kai-scheduler, grove-system, keda,
# dynamo-system: operators, NATS): `baseline` until the rendered chart pods are checked against `restricted`.
CHART_ONLY_LEVEL = "baseline"


def rdma_namespaces(spec: StackSpec) -> set[str]:
    """Model namespaces with workers on an RDMA fabric: their containers add IPC_LOCK (networking/profile.py
    `fabric_profile`: every non-tcp fabric with rails), which no PSS level below `privileged` admits."""
    out: set[str] = set()
    if spec.network.fabric.type == "tcp":
        return out
    for m in spec.serving.models:
        pool = spec.pool(m.pool)
        if pool is not None and spec.rails_per_node(pool) > 0:
            out.add(model_namespace(spec, m.name))
    return out


def namespace_pss_level(spec: StackSpec, namespace: str) -> str:
    """The Pod Security Standards level a namespace enforces: the strictest its pods pass (rule
    pod-security-least-privilege checks the plan's pods against it; pod-security-admission that they are admitted).

    privileged: operator namespaces (drivers, device plugins: host paths, privileged containers); the monitoring
      namespace when kube-prometheus-stack deploys node-exporter (hostNetwork, hostPID, hostPath:
      charts/kube-prometheus-stack/charts/prometheus-node-exporter/templates/daemonset.yaml); model namespaces with
      RDMA workers (IPC_LOCK; the pack's pod-hardening rule holds those pods to `restricted` but for that one
      capability, docs/policy.md).
    baseline: namespaces holding only chart pods the plan cannot show yet.
    restricted: everything else (frontends, workers without RDMA, Jobs, Triton, the burn-in).
    """
    if namespace in PRIVILEGED_NAMESPACES or namespace in rdma_namespaces(spec):
        return "privileged"
    obs = spec.observability
    if obs.enabled and obs.prometheus.mode == "deploy" and namespace == obs.prometheus.namespace:
        return "privileged"
    if namespace in chart_only_namespaces(spec):
        return CHART_ONLY_LEVEL
    return "restricted"


def chart_only_namespaces(spec: StackSpec) -> set[str]:
    return {spec.serving.dynamo.namespace, "kai-scheduler", "kai-resource-reservation", "grove-system", KEDA_NAMESPACE}


def kubernetes_namespace_labels(spec: StackSpec, namespace: str) -> dict[str, str]:
    """PSA labels: enforce the namespace's level at the PSS version of the cluster's Kubernetes release; warn and
    audit at `restricted`, so any looser pod shows in `kubectl apply` output and the audit log."""
    version = f"v{spec.cluster.kubernetes_version}"
    return {
        "pod-security.kubernetes.io/enforce": namespace_pss_level(spec, namespace),
        "pod-security.kubernetes.io/enforce-version": version,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


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
        names.add(
            "kai-resource-reservation"
        )  # its reservation pods; the stack owns it (serving/platform.py kai_values)
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


def namespace_manifest(spec: StackSpec, name: str) -> kobj.Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": kobj.metadata(name, labels=kubernetes_namespace_labels(spec, name)),
    }


def build(ctx: PlatformContext, parent: pulumi.Resource) -> NamespaceOutputs:
    by_name: dict[str, pulumi.Resource] = {}
    for name in namespaces_for(ctx.spec):
        # what ctx.k8s_opts(parent) gives, without its namespace lookup (that reads this layer's own outputs)
        opts = pulumi.ResourceOptions(parent=parent, provider=ctx.cluster.k8s_provider, depends_on=None, protect=False)
        by_name[name] = kobj.apply(namespace_manifest(ctx.spec, name), opts)
    return NamespaceOutputs(by_name=by_name)
