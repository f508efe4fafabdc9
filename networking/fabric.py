"""The `fabric` layer: what makes the GPU fabric usable by pods, and the topology schedulers place them by.

- efa: the `aws-efa-k8s-device-plugin` chart, on the EFA pools only (pool label), tolerating the GPU taint; pods
  then request `vpc.amazonaws.com/efa`.
- infiniband / roce: the Network Operator chart, the NicClusterPolicy, an NV-IPAM IPPool and a secondary network
  per rail (`networking.network_operator`).
- topology (network.topology.enabled): node labels, a KAI Topology and a Grove ClusterTopologyBinding.
Returns `FabricOutputs` (components/outputs.py): pods consume all of it through the per-pool `FabricProfile`
(`networking.profile.fabric_profile`) only; the scheduler topology objects go to the scheduling layer.

The GPU Operator's side of the fabric (`driver.rdma`, `nfd.enabled`) is decided in the spine (components/fabric.py)
so the compute layer, which runs first, renders the same answer the fabric layer assumes.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import fabric as fabric_rules
from components import k8s as kobj
from components.catalog import CHARTS
from components.constants import GPU_TOLERATION, POOL_LABEL
from components.context import PlatformContext
from components.layering import StackRefs
from components.outputs import FabricOutputs
from components.spec import StackSpec
from networking import network_operator as nop
from networking.profile import fabric_profile
from networking.topology import node_label_patches, topology_manifests

EFA_NAMESPACE = "kube-system"
# Amazon EKS add-on images are served from account 602401143452 in the commercial regions; pulling from the
# cluster's own region keeps the pull on the VPC's ECR endpoints instead of crossing regions through the NAT.
EKS_ECR_ACCOUNT = "602401143452"


def efa_pools(spec: StackSpec) -> list[str]:
    return sorted(p.name for p in spec.gpu_pools if (nt := spec.node_type(p)) is not None and nt.efa_interfaces)


def efa_device_plugin_values(spec: StackSpec, region: str | None) -> dict[str, Any]:
    """Chart values: scheduled by the pool label on EFA pools only (the chart's node affinity matches
    `supportedInstanceLabels.keys` In `values`), tolerating the GPU taint."""
    values: dict[str, Any] = {
        "supportedInstanceLabels": {"keys": [POOL_LABEL], "values": efa_pools(spec)},
        "tolerations": [GPU_TOLERATION],
    }
    if region:
        values["image"] = {
            "repository": f"{EKS_ECR_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/eks/aws-efa-k8s-device-plugin"
        }
    return values


def gpu_operator_deploys_nfd(spec: StackSpec) -> bool:
    """Whether the GPU Operator chart should deploy Node Feature Discovery (`nfd.enabled`; components/fabric.py)."""
    return fabric_rules.gpu_operator_deploys_nfd(spec)


def build(ctx: PlatformContext, parent: pulumi.Resource) -> FabricOutputs:
    spec = ctx.spec
    fabric = spec.network.fabric
    if fabric.type == "efa" and efa_pools(spec):
        kobj.chart(
            "aws-efa-k8s-device-plugin",
            chart_ref=CHARTS["aws-efa-k8s-device-plugin"],
            namespace=EFA_NAMESPACE,
            values=efa_device_plugin_values(spec, ctx.region),
            opts=ctx.k8s_opts(parent),
        )
    elif fabric.type in ("infiniband", "roce"):
        _network_operator(ctx, parent)
    _topology(ctx, parent)
    return FabricOutputs(
        profiles={pool.name: fabric_profile(spec, pool) for pool in spec.gpu_pools},
        scheduler_topology=tuple(topology_manifests(spec)),
    )


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> FabricOutputs:
    """In a later layer stack: every pool's fabric profile, from the spec (components/layering.py)."""
    return FabricOutputs(
        profiles={pool.name: fabric_profile(ctx.spec, pool) for pool in ctx.spec.gpu_pools},
        scheduler_topology=tuple(topology_manifests(ctx.spec)),
    )


def _network_operator(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    spec = ctx.spec
    ns = nop.NETWORK_NAMESPACE
    # The chart renders a NodeFeatureRule (templates/nodefeaturerules.yaml). When the GPU Operator deploys NFD,
    # its CRDs come from that chart's node-feature-discovery subchart: render this chart after it, or the provider
    # cannot tell the rule's scope ("failed to determine if the following GVK is namespaced", found by `make e2e`;
    # pulumi/pulumi-kubernetes#3176).
    operator = ctx.compute.gpu_operator  # None in a later layer stack: the infra stack is up before it
    deps = [operator] if operator is not None and gpu_operator_deploys_nfd(spec) else []
    chart = kobj.chart(
        "network-operator",
        chart_ref=CHARTS["network-operator"],
        namespace=ns,
        values=nop.chart_values(spec),
        opts=ctx.k8s_opts(parent, depends_on=deps, namespace=ns),
    )
    policy = kobj.apply(nop.nic_cluster_policy(spec), ctx.k8s_opts(parent, depends_on=[chart]))
    # NV-IPAM's IPPool CRD is installed by the Network Operator once the NicClusterPolicy enables nvIpam
    # (Mellanox/network-operator manifests/state-nv-ipam-cni), not by the chart: the pools follow the policy (a
    # race `make e2e` hit: "no matches for kind IPPool in version nv-ipam.nvidia.com/v1alpha1").
    pools = [kobj.apply(m, ctx.k8s_opts(parent, depends_on=[policy], namespace=ns)) for m in nop.ip_pools(spec)]
    for m in nop.rail_networks(spec):
        kobj.apply(m, ctx.k8s_opts(parent, depends_on=[policy, *pools]))


def _topology(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    spec = ctx.spec
    if not spec.network.topology.enabled:
        return
    for patch in node_label_patches(spec):
        kobj.apply(patch, ctx.k8s_opts(parent), patch=True)
    # the KAI Topology and Grove ClusterTopologyBinding need those schedulers' CRDs: the `scheduling` layer
    # (serving/schedulers.py) applies them after the charts (FabricOutputs.scheduler_topology)
