"""Multi-tenancy and namespace isolation: KAI queues per tenant; per tenant namespace a ResourceQuota and RBAC for the
tenant's people and automation; per namespace with the stack's pods (tenant or not) default-deny NetworkPolicies
with the flows its workloads need (serving/netpolicy.py); per model namespace the Dynamo components' ServiceAccount
with the discovery Role (components/podsecurity.py).

A tenant is a `scheduling.queues[]` entry; its namespace comes from `components/namespaces.py`. Builders are pure
(spec -> manifests); `build` registers them. Handles left for later layers:
  kai_queues          {tenant: KAI leaf queue}; graphs without a tenant use `kai_default_queue`
  kai_default_queue   the Dynamo operator's default queue name, created when some graph has no tenant
  tenant_namespaces   the namespaces that carry tenancy objects
The serving layer annotates each DynamoGraphDeployment with `queue_for_model(...)` (annotation
`nvidia.com/kai-scheduler-queue`); see docs/tenancy.md for the contract.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import k8s as kobj
from components import podsecurity
from components.context import PlatformContext
from components.namespaces import model_namespace
from components.spec import StackSpec
from components.spec.platform import QueueSpec
from components.spec.serving import ModelSpec
from serving import netpolicy

QUEUE_API = "scheduling.run.ai/v2"
# Dynamo operator: DGD annotation naming the KAI queue, and the queue it uses when the annotation is absent
# (deploy/operator/internal/consts: KubeAnnotationKaiSchedulerQueue, DefaultKaiSchedulerQueue).
KAI_QUEUE_ANNOTATION = "nvidia.com/kai-scheduler-queue"
DYNAMO_DEFAULT_QUEUE = "dynamo"
TENANT_LABEL = "inference-ra.nvidia.com/tenant"
# KAI: -1 is "unlimited" for quota and limit; 0 or unset limit means "nothing above quota" (docs/queues/README.md).
UNLIMITED = -1


# ---- KAI queues -------------------------------------------------------------------------------------------------
def _resources(gpu_quota: float, gpu_limit: float, weight: float) -> dict[str, Any]:
    # CPU and memory are not a fairness dimension for serving: unlimited quota and limit, so KAI never reclaims a
    # frontend for CPU; GPUs carry the tenant's guarantee, cap and over-quota share.
    free = {"quota": UNLIMITED, "limit": UNLIMITED, "overQuotaWeight": 1}
    return {
        "gpu": {"quota": gpu_quota, "limit": gpu_limit, "overQuotaWeight": weight},
        "cpu": dict(free),
        "memory": dict(free),
    }


def needs_default_queue(spec: StackSpec) -> bool:
    return any(m.tenant is None for m in spec.serving.models) and all(
        q.name != DYNAMO_DEFAULT_QUEUE for q in spec.scheduling.queues
    )


def queue_for_model(spec: StackSpec, model: ModelSpec) -> str | None:
    """The KAI queue a graph is scheduled in (its tenant's, else the operator default); None without KAI."""
    if not spec.serving.dynamo.kai_scheduler:
        return None
    return model.tenant or DYNAMO_DEFAULT_QUEUE


def parent_queue_manifest(spec: StackSpec) -> kobj.Manifest:
    total = sum(q.gpu_quota for q in spec.scheduling.queues)
    return {
        "apiVersion": QUEUE_API,
        "kind": "Queue",
        "metadata": kobj.metadata(spec.scheduling.parent_queue),
        "spec": {
            "displayName": f"{spec.scheduling.parent_queue} (inference-ra tenants)",
            "resources": _resources(total, UNLIMITED, 1),
        },
    }


def leaf_queue_manifest(spec: StackSpec, q: QueueSpec) -> kobj.Manifest:
    body: dict[str, Any] = {
        "displayName": q.name,
        "parentQueue": spec.scheduling.parent_queue,
        "resources": _resources(
            q.gpu_quota, q.gpu_limit if q.gpu_limit is not None else UNLIMITED, q.over_quota_weight
        ),
    }
    if q.priority is not None:
        body["priority"] = q.priority
    return {
        "apiVersion": QUEUE_API,
        "kind": "Queue",
        "metadata": kobj.metadata(q.name, labels={TENANT_LABEL: q.name}),
        "spec": body,
    }


def default_queue_manifest(spec: StackSpec) -> kobj.Manifest:
    return {
        "apiVersion": QUEUE_API,
        "kind": "Queue",
        "metadata": kobj.metadata(DYNAMO_DEFAULT_QUEUE),
        "spec": {
            "displayName": "graphs without a tenant",
            "parentQueue": spec.scheduling.parent_queue,
            "resources": _resources(0, UNLIMITED, 1),
        },
    }


def kai_queues(spec: StackSpec) -> list[kobj.Manifest]:
    """Parent first, then the leaves; empty when KAI is off (rule tenant-queues flags settings it would drop)."""
    if not spec.serving.dynamo.kai_scheduler:
        return []
    leaves = [leaf_queue_manifest(spec, q) for q in spec.scheduling.queues]
    if needs_default_queue(spec):
        leaves.append(default_queue_manifest(spec))
    return [parent_queue_manifest(spec), *leaves] if leaves else []


# ---- per-tenant namespace objects -------------------------------------------------------------------------------
def resource_quota(q: QueueSpec) -> kobj.Manifest:
    hard: dict[str, str] = {"services.loadbalancers": str(q.load_balancers)}
    if q.gpu_limit is not None:
        hard["requests.nvidia.com/gpu"] = str(q.gpu_limit)
    if q.cpu is not None:
        hard["requests.cpu"] = str(q.cpu)
    if q.memory_gi is not None:
        hard["requests.memory"] = f"{q.memory_gi}Gi"
    if q.max_pods is not None:
        hard["pods"] = str(q.max_pods)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": kobj.metadata("tenant-quota", q.resolved_namespace, {TENANT_LABEL: q.name}),
        "spec": {"hard": hard},
    }


_READ = ["get", "list", "watch"]
_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]


def _rules(write: bool) -> list[dict[str, Any]]:
    graph_verbs = _WRITE if write else _READ
    rules: list[dict[str, Any]] = [
        {
            "apiGroups": ["nvidia.com"],
            "resources": ["dynamographdeployments", "dynamographdeploymentscalingadapters", "dynamomodels"],
            "verbs": graph_verbs,
        },
        {"apiGroups": ["nvidia.com"], "resources": ["dynamocomponentdeployments"], "verbs": _READ},
        {"apiGroups": ["keda.sh"], "resources": ["scaledobjects"], "verbs": _READ},
        {
            "apiGroups": [""],
            "resources": [
                "pods",
                "pods/log",
                "services",
                "endpoints",
                "events",
                "configmaps",
                "persistentvolumeclaims",
                "resourcequotas",
            ],
            "verbs": _READ,
        },
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "replicasets"], "verbs": _READ},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": _READ},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _READ},
    ]
    if write:
        rules.append(
            {
                "apiGroups": ["nvidia.com"],
                "resources": ["dynamographdeploymentscalingadapters/scale"],
                "verbs": ["get", "update", "patch"],
            }
        )
    return rules


DEPLOYER = "tenant-deployer"
VIEWER = "tenant-viewer"


def _group(name: str) -> dict[str, str]:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def rbac(q: QueueSpec) -> list[kobj.Manifest]:
    """A deployer ServiceAccount (CI) and Role for graphs, a read-only viewer Role; groups bound as given.

    Secrets are deliberately absent: model-hub tokens and S3 keys are the platform's to manage.
    """
    ns, labels = q.resolved_namespace, {TENANT_LABEL: q.name}
    out: list[kobj.Manifest] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": kobj.metadata(DEPLOYER, ns, labels)},
    ]
    for name, write in ((DEPLOYER, True), (VIEWER, False)):
        out.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": kobj.metadata(name, ns, labels),
                "rules": _rules(write),
            }
        )
    deployer_subjects: list[dict[str, str]] = [{"kind": "ServiceAccount", "name": DEPLOYER, "namespace": ns}]
    deployer_subjects += [_group(g) for g in q.admin_groups]
    out.append(_binding(q, DEPLOYER, deployer_subjects))
    if q.viewer_groups:
        out.append(_binding(q, VIEWER, [_group(g) for g in q.viewer_groups]))
    return out


def _binding(q: QueueSpec, role: str, subjects: list[dict[str, str]]) -> kobj.Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": kobj.metadata(role, q.resolved_namespace, {TENANT_LABEL: q.name}),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
        "subjects": subjects,
    }


def tenant_objects(spec: StackSpec, q: QueueSpec) -> list[kobj.Manifest]:
    return [resource_quota(q), *rbac(q)]


# ---- registration -----------------------------------------------------------------------------------------------
def _platform_dependency(ctx: PlatformContext) -> list[pulumi.Resource]:
    """Queues need the KAI CRDs: wait for the KAI chart of the `scheduling` layer."""
    kai = ctx.scheduling.kai_scheduler
    return [kai] if kai is not None else []


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    spec = ctx.spec
    queues = kai_queues(spec)
    if queues:
        deps = _platform_dependency(ctx)
        parent_res = kobj.apply(queues[0], ctx.k8s_opts(parent, depends_on=deps))
        for manifest in queues[1:]:
            kobj.apply(manifest, ctx.k8s_opts(parent, depends_on=[*deps, parent_res]))
    for q in spec.scheduling.queues:
        for manifest in tenant_objects(spec, q):
            kobj.apply(manifest, ctx.k8s_opts(parent, namespace=q.resolved_namespace))
    for ns in model_namespaces(spec):
        for manifest in podsecurity.dynamo_component_identity(ns):
            kobj.apply(manifest, ctx.k8s_opts(parent, namespace=ns))
    for ns in netpolicy.policy_namespaces(spec):  # tenant or not (serving/netpolicy.py)
        for manifest in netpolicy.network_policies(spec, ns):
            kobj.apply(manifest, ctx.k8s_opts(parent, namespace=ns))


def model_namespaces(spec: StackSpec) -> list[str]:
    """Namespaces that run Dynamo graphs (tenant or not)."""
    return sorted({model_namespace(spec, m.name) for m in spec.serving.models})
