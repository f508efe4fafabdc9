"""GPU node pools on an existing cluster: the nodes exist; this stack labels and taints them.

- `nodeNames` pools: one `NodePatch` per node (server-side apply; `pulumi.com/patchForce` takes ownership of the
  labels and taints we set, nothing else on the node is touched).
- `nodeSelector` pools: membership is dynamic (nodes join and leave with the selector's labels), so no plan-time
  object can name them. A `CronJob` in the gpu-operator namespace re-applies the pool labels and the GPU taint to
  every node matching the selector every 5 minutes, with a ServiceAccount allowed only to get/list/patch nodes.
  Node Feature Discovery `NodeFeatureRule`s were considered and rejected: NFD rules match hardware features, not the
  node labels a selector pool is defined by, and NFD taints need `enableTaints`, which the GPU Operator chart does
  not expose as a value.
"""

from __future__ import annotations

import pulumi

from components import k8s as kobj
from components.catalog import IMAGES
from components.constants import POOL_LABEL
from components.context import PlatformContext
from components.spec import GpuPoolSpec, StackSpec
from gpu_nodepools.labels import pool_labels, pool_taints

LABELLER_NAMESPACE = "gpu-operator"
LABELLER_NAME = "inference-ra-node-labeller"
LABELLER_SCHEDULE = "*/5 * * * *"


def node_patch(spec: StackSpec, pool: GpuPoolSpec, node: str) -> kobj.Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node,
            "labels": pool_labels(spec, pool),
            "annotations": {"pulumi.com/patchForce": "true"},
        },
        "spec": {"taints": pool_taints(pool)},
    }


def selector_arg(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def labeller_rbac() -> list[kobj.Manifest]:
    meta = {"app.kubernetes.io/name": LABELLER_NAME}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": kobj.metadata(LABELLER_NAME, LABELLER_NAMESPACE, meta),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": kobj.metadata(LABELLER_NAME, labels=meta),
            "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "patch"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": kobj.metadata(LABELLER_NAME, labels=meta),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": LABELLER_NAME},
            "subjects": [{"kind": "ServiceAccount", "name": LABELLER_NAME, "namespace": LABELLER_NAMESPACE}],
        },
    ]


_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "capabilities": {"drop": ["ALL"]},
}


def labeller_cronjob(spec: StackSpec, pool: GpuPoolSpec) -> kobj.Manifest:
    """Label and taint every node matching the pool's selector (idempotent: --overwrite)."""
    selector = selector_arg(pool.node_selector)
    labels = [f"{k}={v}" for k, v in pool_labels(spec, pool).items()]
    taints = [f"{t['key']}={t['value']}:{t['effect']}" for t in pool_taints(pool)]
    kubectl = IMAGES["kubectl"]
    name = f"{LABELLER_NAME}-{pool.name}"
    meta = {"app.kubernetes.io/name": LABELLER_NAME, POOL_LABEL: pool.name}
    resources = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": kobj.metadata(name, LABELLER_NAMESPACE, meta),
        "spec": {
            "schedule": LABELLER_SCHEDULE,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 120,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 240,
                    "template": {
                        "metadata": {"labels": meta},
                        "spec": {
                            "serviceAccountName": LABELLER_NAME,
                            "restartPolicy": "Never",
                            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                            # kubectl writes its discovery cache under $HOME; the root filesystem is read-only.
                            "volumes": [{"name": "home", "emptyDir": {"sizeLimit": "64Mi"}}],
                            "initContainers": [
                                {
                                    "name": "label",
                                    "image": kubectl,
                                    "args": ["label", "nodes", "--selector", selector, "--overwrite", *labels],
                                    "securityContext": _SECURITY,
                                    "resources": resources,
                                    "env": [{"name": "HOME", "value": "/home/kubectl"}],
                                    "volumeMounts": [{"name": "home", "mountPath": "/home/kubectl"}],
                                }
                            ],
                            "containers": [
                                {
                                    "name": "taint",
                                    "image": kubectl,
                                    "args": ["taint", "nodes", "--selector", selector, "--overwrite", *taints],
                                    "securityContext": _SECURITY,
                                    "resources": resources,
                                    "env": [{"name": "HOME", "value": "/home/kubectl"}],
                                    "volumeMounts": [{"name": "home", "mountPath": "/home/kubectl"}],
                                }
                            ],
                        },
                    },
                }
            },
        },
    }


def build_existing_pool(
    ctx: PlatformContext, parent: pulumi.Resource, pool: GpuPoolSpec, labeller_deps: list[pulumi.Resource]
) -> list[pulumi.Resource]:
    spec = ctx.spec
    out: list[pulumi.Resource] = []
    for node in pool.node_names:
        out.append(kobj.apply(node_patch(spec, pool, node), ctx.k8s_opts(parent), patch=True))
    if pool.node_selector:
        out.append(
            kobj.apply(
                labeller_cronjob(spec, pool),
                ctx.k8s_opts(parent, depends_on=labeller_deps, namespace=LABELLER_NAMESPACE),
            )
        )
    return out


def build_labeller_rbac(ctx: PlatformContext, parent: pulumi.Resource) -> list[pulumi.Resource]:
    return [
        kobj.apply(m, ctx.k8s_opts(parent, namespace=LABELLER_NAMESPACE if m["kind"] == "ServiceAccount" else None))
        for m in labeller_rbac()
    ]
