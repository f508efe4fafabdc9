"""The namespaces every layer places objects in, derived from the spec (one source, no layer creates its own)."""

from __future__ import annotations

import pulumi

from components import k8s as kobj
from components.catalog.pod_levels import CHART_PODS, OPERATOR_NAMESPACES, loosest
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


KAI_NAMESPACE = "kai-scheduler"  # serving/platform.py releases KAI and Grove into these
GROVE_NAMESPACE = "grove-system"


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


def chart_releases(spec: StackSpec) -> dict[str, set[str]]:
    """{release namespace: chart names} of the charts the stack deploys outside kube-system (the layers' conditions:
    gpu_nodepools/operator.py, networking/fabric.py, components/observability/layer.py, serving/layer.py,
    serving/schedulers.py, serving/keda.py); tests/charts/test_pod_levels.py checks it against the plans."""
    out: dict[str, set[str]] = {"gpu-operator": {"gpu-operator"}}
    if any(p.compute_domain for p in spec.gpu_pools):
        out.setdefault("nvidia-dra-driver", set()).add("dra-driver-nvidia-gpu")
    if spec.network.fabric.type in ("infiniband", "roce"):
        out.setdefault("network-operator", set()).add("network-operator")
    obs = spec.observability
    if obs.enabled and obs.prometheus.mode == "deploy":
        out.setdefault(obs.prometheus.namespace, set()).add("kube-prometheus-stack")
    if spec.serving.models:
        out.setdefault(spec.serving.dynamo.namespace, set()).add("dynamo-platform")
        if spec.serving.dynamo.kai_scheduler:
            out.setdefault(KAI_NAMESPACE, set()).add("kai-scheduler")
        if spec.serving.dynamo.grove:
            out.setdefault(GROVE_NAMESPACE, set()).add("grove-charts")
    if any(m.autoscaling.mode == "keda" for m in spec.serving.models):
        out.setdefault(KEDA_NAMESPACE, set()).add("keda")
    return out


def namespace_pss_level(spec: StackSpec, namespace: str) -> str:
    """The Pod Security Standards level a namespace enforces: the strictest every pod that runs there passes (rule
    pod-security-least-privilege checks the plan's pods against it; pod-security-admission that they are admitted).

    - kube-system: privileged (device plugins, CSI node plugins, node-exporter; not a namespace the stack labels);
    - a chart's release namespace: what its rendered pods and its operator's run-time pods need
      (components/catalog/pod_levels.py CHART_PODS, checked against the rendered pods), and a namespace an operator
      fills at run time (OPERATOR_NAMESPACES: KAI's reservation pods);
    - model namespaces with RDMA workers: privileged (IPC_LOCK; the pack's pod-hardening rule holds those pods to
      `restricted` but for that one capability, docs/policy.md);
    - restricted otherwise (frontends, workers without RDMA, Jobs, Triton, the burn-in, the charts' own pods once
      hardened: components/catalog/chart_security.py).
    """
    if namespace == "kube-system" or namespace in rdma_namespaces(spec):
        return "privileged"
    releases = chart_releases(spec)
    levels = [CHART_PODS[c].needs for c in releases.get(namespace, ())]
    for charts in releases.values():
        for chart in charts:
            levels += [o.level for o in OPERATOR_NAMESPACES if o.chart == chart and o.namespace == namespace]
    return loosest(*levels)


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
        names.add(KAI_NAMESPACE)  # KAI Scheduler release (serving/platform.py)
        names.add("kai-resource-reservation")  # its reservation pods (serving/platform.py kai_values)
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


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> NamespaceOutputs:
    """In a later layer stack: the namespaces exist (infra is up before it); nothing to depend on here."""
    return NamespaceOutputs()
