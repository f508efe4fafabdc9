"""Pod hardening and workload identity: one function per pod template, applied once in each builder.

`secure_pod` returns a copy of a pod spec that passes the `restricted` Pod Security Standard (policies/pss.py), except
for capabilities the pod's builder adds on purpose (the fabric's IPC_LOCK for RDMA): every container gets
`allowPrivilegeEscalation: false` and `capabilities.drop: [ALL]` (keeping what the builder added), the pod gets
RuntimeDefault seccomp, its own ServiceAccount and `automountServiceAccountToken` only when it calls the Kubernetes
API. Containers run as a non-root UID, the image's own user where the image has one (IMAGE_USERS), with one
exception: a container that adds capabilities runs as root, because Kubernetes grants added capabilities only to
root processes (it sets no ambient capabilities: kubernetes/kubernetes#56374; containerd/containerd#5668 was closed
unmerged), so the RDMA workers' IPC_LOCK would not reach a non-root engine.

Builders call it at one point (serving/graphs.py `graph_manifest`, serving/benchmarks.py `benchmark_job`,
serving/optimization.py `_job`, storage/cache.py `prefetch_job`, gpu_nodepools/acceptance.py `daemonset`); their
args, env, resources and claims stay theirs. The policy rules `pod-hardening` and `pod-security-admission` check
the result.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from components import k8s as kobj

# Images whose default user is known, by repository prefix: (prefix, UID, source). Images not listed run as
# DEFAULT_UID with HOME=/tmp (their default user is root; nothing they run needs root-owned paths: they write only
# to mounted volumes and /tmp).
IMAGE_USERS: tuple[tuple[str, int, str], ...] = (
    (
        "nvcr.io/nvidia/ai-dynamo/",
        1000,
        "Dynamo runtime images create user `dynamo` (UID 1000, group 0): ai-dynamo/dynamo "
        "container/templates/dynamo_runtime.Dockerfile",
    ),
    ("nvcr.io/nvidia/tritonserver:", 1000, "Triton images carry user `triton-server` (UID 1000)"),
    ("registry.k8s.io/kubectl:", 65532, "distroless nonroot user"),
    ("busybox:", 65534, "`nobody` in busybox's /etc/passwd"),
)
DEFAULT_UID = 1000
DEFAULT_HOME = "/tmp"

# ServiceAccounts: one per purpose and namespace.
DYNAMO_COMPONENT_SA = "dynamo-component"  # frontends and workers: Kubernetes-API discovery
BENCHMARK_SA = "inference-ra-benchmark"
OPTIMIZATION_SA = "inference-ra-optimization"
# The Dynamo operator uses a ServiceAccount labelled this way when a component's pod names none
# (deploy/operator/internal/controller/dynamocomponentdeployment_controller.go: ServiceAccountName lookup).
DYNAMO_COMPONENT_POD_LABEL = "nvidia.com/dynamo-component-pod"
# Components whose ServiceAccount the operator binds itself (planner-serviceaccount / epp-serviceaccount via
# EnsureServiceAccountWithRBAC, charts dynamo-operator templates/planner.yaml, epp.yaml): left unset here.
OPERATOR_BOUND_TYPES = frozenset({"planner", "epp"})


def image_user(image: str) -> tuple[int, bool]:
    """(UID to run as, whether the image's user lacks a HOME we should provide)."""
    for prefix, uid, _ in IMAGE_USERS:
        if image.startswith(prefix):
            return uid, False
    return DEFAULT_UID, True


def _secure_container(container: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(container))
    sc = dict(out.get("securityContext") or {})
    caps = dict(sc.get("capabilities") or {})
    added = [str(c) for c in caps.get("add") or []]
    if sc.get("privileged") is True:
        # The builder's grant (serving/pods.py fabric_grants: NIXL on EFA, policies/exemptions.py): a privileged
        # container holds every capability as root, and the API server rejects `allowPrivilegeEscalation: false`
        # next to `privileged: true` (k8s.io/kubernetes pkg/apis/core/validation ValidateSecurityContext:
        # "cannot set `allowPrivilegeEscalation` to false and `privileged` to true").
        sc["runAsNonRoot"], sc["runAsUser"] = False, 0
        out["securityContext"] = dict(sorted(sc.items()))
        return out
    sc["allowPrivilegeEscalation"] = False
    sc["capabilities"] = {"drop": ["ALL"], **({"add": added} if added else {})}
    if added:  # capabilities reach root processes only (kubernetes/kubernetes#56374)
        sc["runAsNonRoot"], sc["runAsUser"] = False, 0
    else:
        uid, needs_home = image_user(str(out.get("image") or ""))
        sc.setdefault("runAsUser", uid)
        sc["runAsNonRoot"] = True
        env = list(out.get("env") or [])
        if needs_home and not any(isinstance(e, Mapping) and e.get("name") == "HOME" for e in env):
            out["env"] = [*env, {"name": "HOME", "value": DEFAULT_HOME}]
    out["securityContext"] = dict(sorted(sc.items()))
    return out


def secure_pod(pod: Mapping[str, Any], *, service_account: str | None, api_access: bool) -> dict[str, Any]:
    """A hardened copy of `pod` (a PodSpec). `service_account`: the pod's dedicated ServiceAccount (None leaves it
    to whoever binds one, e.g. the Dynamo operator for planners); `api_access`: mount the account's token (only for
    pods that call the Kubernetes API)."""
    out = copy.deepcopy(dict(pod))
    for key in ("initContainers", "containers"):
        if out.get(key):
            out[key] = [_secure_container(c) for c in out[key]]
    psc = dict(out.get("securityContext") or {})
    psc["seccompProfile"] = {"type": "RuntimeDefault"}
    out["securityContext"] = dict(sorted(psc.items()))
    out["automountServiceAccountToken"] = api_access
    if service_account:
        out["serviceAccountName"] = service_account
    return out


def secure_graph_component(component: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoGraphDeployment component with its pod template hardened. Every component calls the Kubernetes API:
    the platform runs Dynamo's Kubernetes discovery (`discoveryBackend: kubernetes`, serving/platform.py), where
    workers register DynamoWorkerMetadata objects and every component watches them and EndpointSlices (Dynamo
    docs/design-docs/discovery-plane.md); planners also scale the graph."""
    out = copy.deepcopy(dict(component))
    tmpl = dict(out.get("podTemplate") or {})
    sa = None if out.get("type") in OPERATOR_BOUND_TYPES else DYNAMO_COMPONENT_SA
    tmpl["spec"] = secure_pod(tmpl.get("spec") or {}, service_account=sa, api_access=True)
    out["podTemplate"] = tmpl
    return out


def service_account(
    name: str,
    namespace: str,
    *,
    api_access: bool,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, Any] | None = None,
) -> kobj.Manifest:
    """A dedicated ServiceAccount; its token is mounted only into pods that ask (`api_access`)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": kobj.metadata(name, namespace, labels, annotations),
        "automountServiceAccountToken": api_access,
    }


# Dynamo Kubernetes discovery, the verbs the operator's own component roles grant (dynamo-operator chart
# templates/epp.yaml "Dynamo k8s service discovery" and planner.yaml): nothing else.
DISCOVERY_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
    {
        "apiGroups": ["nvidia.com"],
        "resources": ["dynamoworkermetadatas"],
        "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"],
    },
)


def dynamo_component_identity(namespace: str) -> list[kobj.Manifest]:
    """ServiceAccount, Role and RoleBinding of a namespace's Dynamo frontends and workers (discovery only)."""
    labels = {DYNAMO_COMPONENT_POD_LABEL: "true", "app.kubernetes.io/part-of": "inference-ra"}
    name = DYNAMO_COMPONENT_SA
    return [
        service_account(name, namespace, api_access=True, labels=labels),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": kobj.metadata(f"{name}-discovery", namespace, labels),
            "rules": [dict(r) for r in DISCOVERY_RULES],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": kobj.metadata(f"{name}-discovery", namespace, labels),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{name}-discovery"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]
