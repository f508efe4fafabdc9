"""Fake nodes of an existing-cluster stack, generated from its spec with the project's own builders and catalogs.

What the nodes carry is what an NCP's cluster has before `pulumi up` plus what components outside this stack
write, each from the code that states it:

* identity: `nodeNames` pools get nodes of those names; `nodeSelector` pools get `nodes.desired` (default `min`)
  nodes carrying the selector's labels (the cluster's own labels the pool is defined by);
* what GPU Feature Discovery labels (the GPU Operator's `nvidia.com/gpu.present`, `nvidia.com/gpu.count`; the
  product string only where the pool's selector names it: the GPU catalog has no GFD product strings);
* capacity from the node catalog (`components/catalog/nodes.py`): CPUs, memory, `nvidia.com/gpu`, and the fabric's
  extended resources exactly as its device plugin advertises them (`networking.profile`: one `rdma/railN` per
  rail with the shared device plugin's `rdmaHcaMax`, or `vpc.amazonaws.com/efa` per EFA interface).

The pool labels and the GPU taint (`gpu_nodepools.labels`) are *not* put on the nodes here: the stack's own
NodePatch / labeller CronJob owns them (see tests/e2e/emulate.py for the CronJob, which no kubelet runs here).
"""

from __future__ import annotations

from typing import Any

from components.catalog import NODE_TYPES
from components.spec import GpuPoolSpec, StackSpec
from networking.network_operator import RDMA_HCA_MAX
from networking.profile import EFA_RESOURCE, fabric_profile

KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
E2E_LABEL = "inference-ra.nvidia.com/e2e-node"  # marks nodes this harness made (not the stack's)
# GPU Feature Discovery's labels (NVIDIA/gpu-feature-discovery README, "Generated Labels")
GFD_PRESENT, GFD_PRODUCT, GFD_COUNT = "nvidia.com/gpu.present", "nvidia.com/gpu.product", "nvidia.com/gpu.count"
PODS_PER_NODE = 110  # the kubelet's default --max-pods
# An existing cluster also has untainted CPU nodes for its system workloads (operators, Prometheus, the Dynamo
# control plane); the spec does not describe them (only `cluster.systemNodes` on aws), so the harness adds these.
SYSTEM_NODES = 3
SYSTEM_NODE = {"cpu": "32", "memory": "128Gi", "pods": str(PODS_PER_NODE), "ephemeral-storage": "500Gi"}


def node_names(pool: GpuPoolSpec) -> list[str]:
    if pool.node_names:
        return list(pool.node_names)
    return [f"{pool.name}-{i:02d}" for i in range(pool.nodes.resolved_desired)]


def extended_resources(spec: StackSpec, pool: GpuPoolSpec) -> dict[str, str]:
    """Allocatable device-plugin resources of one node of `pool`."""
    node = NODE_TYPES[pool.instance_type]
    out = {"nvidia.com/gpu": str(node.gpus)}
    for name in fabric_profile(spec, pool).resources:
        out[name] = str(node.efa_interfaces) if name == EFA_RESOURCE else str(RDMA_HCA_MAX)
    return out


def fake_nodes(spec: StackSpec) -> list[dict[str, Any]]:
    """Node objects for every GPU pool of an existing-cluster stack and the system nodes, sorted by name."""
    if spec.cluster.provider != "existing":
        raise ValueError(f"fake nodes are for existing clusters; stack cluster.provider is {spec.cluster.provider!r}")
    nodes = []
    for pool in spec.gpu_pools:
        node_type = NODE_TYPES[pool.instance_type]
        capacity = {
            "cpu": str(node_type.vcpus),
            "memory": f"{node_type.memory_gib}Gi",
            "pods": str(PODS_PER_NODE),
            "ephemeral-storage": f"{max(node_type.local_nvme_gib, 100)}Gi",
            **extended_resources(spec, pool),
        }
        for name in node_names(pool):
            labels = {
                **pool.node_selector,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",  # the node catalog has no CPU architecture (GB200 trays are arm64)
                "node.kubernetes.io/instance-type": pool.instance_type,
                "type": "kwok",
                E2E_LABEL: "true",
                GFD_PRESENT: "true",
                GFD_COUNT: str(node_type.gpus),
            }
            nodes.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": name, "labels": dict(sorted(labels.items())), "annotations": KWOK_ANNOTATION},
                    "spec": {},
                    "status": {"capacity": capacity, "allocatable": capacity},
                }
            )
    for i in range(SYSTEM_NODES):
        name = f"system-{i:02d}"
        labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
            E2E_LABEL: "true",
        }
        nodes.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": labels, "annotations": KWOK_ANNOTATION},
                "spec": {},
                "status": {"capacity": SYSTEM_NODE, "allocatable": SYSTEM_NODE},
            }
        )
    return sorted(nodes, key=lambda n: n["metadata"]["name"])
