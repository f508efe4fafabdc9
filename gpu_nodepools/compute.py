"""The `compute` layer: GPU node pools (EKS node groups, or labels/taints on an existing cluster's nodes), the GPU
Operator, and for GB200 pools the DRA driver with ComputeDomains.

Returns `ComputeOutputs` (components/outputs.py): the node groups (aws), the GPU Operator chart, the GB200
ComputeDomains and where each pool's local NVMe array is mounted (the storage layer's local volumes live there).
"""

from __future__ import annotations

import pulumi

from components.context import PlatformContext
from components.layering import StackRefs
from components.outputs import ComputeOutputs
from components.spec import GpuPoolSpec, StackSpec
from gpu_nodepools.aws_pools import build_aws_pool, local_nvme_host_path
from gpu_nodepools.existing import build_existing_pool, build_labeller_rbac
from gpu_nodepools.operator import build_gpu_operator, compute_domain_map


class GpuNodePool(pulumi.ComponentResource):
    """A pool of identical GPU nodes, labelled for its pool/GPU/fabric and tainted for GPU work."""

    def __init__(
        self,
        name: str,
        pool: GpuPoolSpec,
        ctx: PlatformContext,
        labeller_deps: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("inference-ra:gpu_nodepools:GpuNodePool", name, None, opts)
        self.resources: list[pulumi.Resource]
        if ctx.spec.cluster.provider == "aws":
            group = build_aws_pool(ctx, self, pool)
            self.resources = [group]
            self.register_outputs({"nodeGroupName": group.node_group_name})
        else:
            self.resources = build_existing_pool(ctx, self, pool, labeller_deps)
            self.register_outputs({})


def build(ctx: PlatformContext, parent: pulumi.Resource) -> ComputeOutputs:
    spec = ctx.spec
    labeller_deps: list[pulumi.Resource] = []
    if spec.cluster.provider != "aws" and any(p.node_selector for p in spec.gpu_pools):
        labeller_deps = build_labeller_rbac(ctx, parent)
    pools: list[pulumi.Resource] = []
    groups = {}
    for pool in spec.gpu_pools:
        component = GpuNodePool(
            f"{spec.cluster.name}-{pool.name}", pool, ctx, labeller_deps, pulumi.ResourceOptions(parent=parent)
        )
        pools.extend(component.resources)
        if spec.cluster.provider == "aws":
            groups[pool.name] = component.resources[0]
    # The operator's daemonsets land on the GPU nodes; on aws wait for the node groups so the first reconcile
    # sees them (on an existing cluster the nodes are already there).
    operator, domains = build_gpu_operator(ctx, parent, depends_on=pools if spec.cluster.provider == "aws" else [])
    return ComputeOutputs(
        gpu_operator=operator, node_groups=groups, compute_domains=domains, local_nvme_paths=local_nvme_paths(spec)
    )


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> ComputeOutputs:
    """In a later layer stack: the ComputeDomain names and NVMe mount paths, from the spec (components/layering.py)."""
    spec = ctx.spec
    return ComputeOutputs(compute_domains=compute_domain_map(spec), local_nvme_paths=local_nvme_paths(spec))


def local_nvme_paths(spec: StackSpec) -> dict[str, str]:
    """{pool: host path of its local NVMe array} of the pools that have one (gpu_nodepools/aws_pools.py)."""
    return {p.name: path for p in spec.gpu_pools if (path := local_nvme_host_path(spec, p)) is not None}
