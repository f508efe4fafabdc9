"""Local NVMe: dynamic volumes on each GPU node's RAID0 mount, for the KV-cache disk tier (G3) and model staging.

The RAID0 itself is assembled before Kubernetes sees the node: on AWS by the compute layer's nodeadm user data, which
mounts it at `<gpuPools[].localNvme.mountPath>/0` (nodeadm's local_disk.go; the compute layer hands the real path over
as `ComputeOutputs.local_nvme_paths`); on bare metal it is a documented prerequisite at mountPath (DGX OS already
ships the data drives as a RAID0 at /raid; see docs/storage.md). Destructive `mdadm --create` from a DaemonSet on an
existing cluster's disks is exactly what we refuse to do.

On top of it, Rancher's local-path-provisioner (rancher/local-path-provisioner, maintained, shipped by k3s) turns
PVCs of our StorageClass into directories on that mount. It provisions dynamically with WaitForFirstConsumer, so
the serving layer's generic ephemeral volumes (`serving.kv.kv_disk_volume`, on the class this layer hands over as
`StorageOutputs.kv_disk_classes`) get a fresh directory on the node the pod lands on and lose it with the pod.
Sizes are not enforced by the filesystem; the spec rule kv-cache-tiers keeps
`diskGi x workers per node` within the catalog's NVMe capacity and the KV connector is configured with that size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from components import k8s as kobj
from components.catalog import IMAGES
from components.constants import GPU_TOLERATION
from components.spec import GpuPoolSpec, StackSpec

NAMESPACE = "kube-system"  # helper pods mount hostPath: they need a privileged namespace
PROVISIONER = "rancher.io/local-path"
SERVICE_ACCOUNT = "local-path-provisioner-service-account"  # the provisioner's default for its helper pods
CONFIGMAP = "local-path-config"  # the provisioner's default config map name
VOLUME_DIR = "local-path"  # under each pool's mount path
LABELS = {"app.kubernetes.io/name": "local-path-provisioner", "app.kubernetes.io/part-of": "inference-ra"}


def nvme_pools(spec: StackSpec) -> list[GpuPoolSpec]:
    return [p for p in spec.gpu_pools if p.local_nvme is not None]


def storage_classes(spec: StackSpec, host_paths: Mapping[str, str]) -> dict[str, str]:
    """StorageClass name -> host directory of its volumes. `host_paths` is where each pool's NVMe array is mounted
    (`ComputeOutputs.local_nvme_paths`: on aws nodeadm mounts the RAID0 at `<mountPath>/0`, not at mountPath, whose
    own directory lies on the root EBS volume). Pools sharing the first pool's mount path share the configured class.
    """
    pools = nvme_pools(spec)
    if not pools:
        return {}
    out: dict[str, str] = {}
    for p in pools:
        if p.name not in host_paths:
            raise ValueError(f"pool '{p.name}' has localNvme but the compute layer reported no array mount for it")
        out.setdefault(storage_class_for(spec, p), f"{host_paths[p.name].rstrip('/')}/{VOLUME_DIR}")
    return out


def storage_class_for(spec: StackSpec, pool: GpuPoolSpec) -> str:
    if pool.local_nvme is None:
        raise ValueError(f"pool '{pool.name}' has no localNvme: it has no NVMe StorageClass")
    pools = nvme_pools(spec)
    base = spec.storage.local_nvme.storage_class
    return base if pool.local_nvme.mount_path == pools[0].local_nvme.mount_path else f"{base}-{pool.name}"  # type: ignore[union-attr]


def _config_json(classes: dict[str, str]) -> str:
    return json.dumps(
        {
            "nodePathMap": [],
            "storageClassConfigs": {
                name: {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [path]}]}
                for name, path in sorted(classes.items())
            },
        },
        indent=2,
        sort_keys=True,
    )


_SETUP = """#!/bin/sh
set -eu
mkdir -m 0777 -p "$VOL_DIR"
"""
_TEARDOWN = """#!/bin/sh
set -eu
rm -rf "$VOL_DIR"
"""


def _helper_pod() -> str:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "helper-pod"},
        "spec": {
            "priorityClassName": "system-node-critical",
            # GPU nodes carry the GPU taint; the helper runs on the node that gets the volume.
            "tolerations": [
                GPU_TOLERATION,
                {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
            ],
            "containers": [{"name": "helper-pod", "image": IMAGES["busybox"], "imagePullPolicy": "IfNotPresent"}],
        },
    }
    return json.dumps(pod, indent=2, sort_keys=True)


def manifests(spec: StackSpec, host_paths: Mapping[str, str]) -> list[kobj.Manifest]:
    """Everything the provisioner needs, in apply order; empty when no pool has local NVMe."""
    classes = storage_classes(spec, host_paths)
    if not classes:
        return []
    meta = lambda name, ns=NAMESPACE: kobj.metadata(name, ns, LABELS)  # noqa: E731
    sa_ref = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}
    out: list[kobj.Manifest] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(SERVICE_ACCOUNT)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta("local-path-provisioner", None),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": [""],
                    "resources": ["persistentvolumes"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                },
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
                {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta("local-path-provisioner", None),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "local-path-provisioner",
            },
            "subjects": [sa_ref],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta("local-path-provisioner"),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta("local-path-provisioner"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "local-path-provisioner"},
            "subjects": [sa_ref],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(CONFIGMAP),
            "data": {
                "config.json": _config_json(classes),
                "setup": _SETUP,
                "teardown": _TEARDOWN,
                "helperPod.yaml": _helper_pod(),
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta("local-path-provisioner"),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": "local-path-provisioner"}},
                "template": {
                    "metadata": {"labels": LABELS},
                    "spec": {
                        "serviceAccountName": SERVICE_ACCOUNT,
                        "priorityClassName": "system-cluster-critical",
                        "containers": [
                            {
                                "name": "local-path-provisioner",
                                "image": IMAGES["local-path-provisioner"],
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["local-path-provisioner", "start", "--config", "/etc/config/config.json"],
                                "env": [
                                    {
                                        "name": "POD_NAMESPACE",
                                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                                    },
                                    {"name": "CONFIG_MOUNT_PATH", "value": "/etc/config/"},
                                ],
                                "resources": {
                                    "requests": {"cpu": "10m", "memory": "32Mi"},
                                    "limits": {"memory": "128Mi"},
                                },
                                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
                                "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/config/"}],
                            }
                        ],
                        "volumes": [{"name": "config-volume", "configMap": {"name": CONFIGMAP}}],
                    },
                },
            },
        },
    ]
    for name in sorted(classes):
        out.append(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": meta(name, None),
                "provisioner": PROVISIONER,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer",
                "allowVolumeExpansion": False,
            }
        )
    return out
