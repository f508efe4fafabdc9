"""GPU node pools on EKS: one `ec2.LaunchTemplate` + `eks.NodeGroup` per pool (and a cluster placement group).

Pure builders (`efa_network_interfaces`, `nodeadm_user_data`, `capacity_options`) take the spec and return plain
values, so tests assert on them without an engine; `build_aws_pool` only wires them into resources.

- EFA: one interface per EFA-capable network card, from the node catalog (`NodeType.efa_interfaces`). Card 0,
  device 0 is the primary interface as type `efa` (EFA with ENA: it carries the node's IP traffic too); every other
  card gets an `efa-only` interface at device index 0 (RDMA only, no IP address taken from the subnet), as the EC2
  user guide recommends for multi-card instances. Each interface carries the network layer's EFA security group;
  the primary one also the cluster security group (with explicit interfaces EKS adds no security group itself).
- Placement: on-demand and spot pools launch into their own cluster placement group. Reserved capacity
  (capacity-block, capacity-reservation) launches into the reservation, whose placement AWS fixed when it was
  allocated; a placement group that the reservation was not created in would not match it.
- Local NVMe: nodeadm's `localStorage` RAID0 strategy assembles the instance-store NVMe devices at boot; nodeadm
  mounts the array at `<mountPath>/0` and moves containerd and kubelet state onto it (`local_nvme_host_path`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import yaml

from components.catalog.compat import AMI_FAMILIES
from components.context import PlatformContext
from components.spec import GpuPoolSpec, StackSpec
from gpu_nodepools.eks import encrypted_root_volume, node_metadata_options
from gpu_nodepools.labels import EKS_TAINT_EFFECT, pool_labels, pool_taints

MIME_BOUNDARY = "//inference-ra//"
EKS_CAPACITY_TYPE = {
    "on-demand": "ON_DEMAND",
    "capacity-reservation": "ON_DEMAND",
    "capacity-block": "CAPACITY_BLOCK",
    "spot": "SPOT",
}


@dataclass(frozen=True)
class EfaInterface:
    network_card_index: int
    device_index: int
    interface_type: str  # efa (EFA + ENA, primary) | efa-only
    primary: bool


def efa_network_interfaces(spec: StackSpec, pool: GpuPoolSpec) -> list[EfaInterface]:
    """EFA interfaces of a pool's launch template; empty when the pool does not use EFA."""
    nt = spec.node_type(pool)
    if spec.network.fabric.type != "efa" or nt is None or nt.efa_interfaces == 0:
        return []
    return [EfaInterface(card, 0, "efa" if card == 0 else "efa-only", card == 0) for card in range(nt.efa_interfaces)]


def pool_zone(spec: StackSpec, pool: GpuPoolSpec) -> str | None:
    azs = spec.network.availability_zones
    return pool.availability_zone or (azs[0] if azs else None)


def local_nvme_host_path(spec: StackSpec, pool: GpuPoolSpec) -> str | None:
    """Where the pool's NVMe RAID0 array is mounted on the host (None: the pool does not use local NVMe).

    On aws nodeadm mounts the array at `<mountPath>/0`; on an existing cluster the operator prepared it at
    `mountPath` itself.
    """
    if pool.local_nvme is None:
        return None
    base = pool.local_nvme.mount_path.rstrip("/")
    return f"{base}/0" if spec.cluster.provider == "aws" else base


def node_config(pool: GpuPoolSpec) -> dict[str, Any]:
    """The nodeadm NodeConfig merged into the one EKS generates for managed node groups."""
    spec: dict[str, Any] = {}
    if pool.local_nvme is not None and pool.local_nvme.raid0:
        spec["instance"] = {"localStorage": {"strategy": "RAID0", "mountPath": pool.local_nvme.mount_path}}
    return {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": spec}


def nodeadm_user_data(pool: GpuPoolSpec) -> str | None:
    """MIME multi-part user data (the AL2023 nodeadm format), unencoded; None when there is nothing to add."""
    config = node_config(pool)
    if not config["spec"]:
        return None
    body = yaml.safe_dump(config, sort_keys=False)
    return (
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\n\n'
        f"--{MIME_BOUNDARY}\n"
        "Content-Type: application/node.eks.aws\n\n"
        f"---\n{body}\n"
        f"--{MIME_BOUNDARY}--\n"
    )


def capacity_options(pool: GpuPoolSpec) -> dict[str, Any]:
    """Launch-template purchase options of a pool (keyword arguments of `ec2.LaunchTemplate`)."""
    cap = pool.capacity
    target = aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
        capacity_reservation_target=aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
            capacity_reservation_id=cap.reservation_id
        )
    )
    if cap.type == "capacity-block":
        return {
            "instance_market_options": aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(market_type="capacity-block"),
            "capacity_reservation_specification": target,
        }
    if cap.type == "capacity-reservation":
        return {"capacity_reservation_specification": target}
    return {}


def uses_placement_group(pool: GpuPoolSpec) -> bool:
    return pool.capacity.type in ("on-demand", "spot")


def build_aws_pool(ctx: PlatformContext, parent: pulumi.Resource, pool: GpuPoolSpec) -> aws.eks.NodeGroup:
    spec = ctx.spec
    eks = ctx.cluster.eks
    assert eks is not None  # the cluster layer on aws
    cluster = spec.cluster.name
    name = f"{cluster}-{pool.name}"
    ami = AMI_FAMILIES[spec.cluster.resolved_node_os]

    placement_name: str | None = None
    placement: aws.ec2.LaunchTemplatePlacementArgs | None = None
    if uses_placement_group(pool):
        group = aws.ec2.PlacementGroup(name, name=name, strategy="cluster", opts=ctx.aws_opts(parent))
        placement_name = name
        placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=group.name)

    interfaces = efa_network_interfaces(spec, pool)
    network_interfaces = None
    if interfaces:
        efa_sg = ctx.network.efa_security_group_id
        cluster_sg = eks.cluster_security_group_id
        if efa_sg is None:
            pulumi.log.warn(f"pool {pool.name}: the network layer has no EFA security group")
        network_interfaces = [
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                network_card_index=i.network_card_index,
                device_index=i.device_index,
                interface_type=i.interface_type,
                delete_on_termination="true",
                security_groups=[g for g in ((cluster_sg, efa_sg) if i.primary else (efa_sg,)) if g is not None],
            )
            for i in interfaces
        ]

    user_data = nodeadm_user_data(pool)
    template = aws.ec2.LaunchTemplate(
        name,
        name=name,
        description=f"inference-ra GPU pool {pool.name}: {pool.instance_type}, IMDSv2, encrypted root",
        instance_type=pool.instance_type,
        metadata_options=node_metadata_options(ctx),
        block_device_mappings=[encrypted_root_volume(pool.root_volume_gi)],
        network_interfaces=network_interfaces,
        placement=placement,
        user_data=base64.b64encode(user_data.encode()).decode() if user_data else None,
        update_default_version=True,
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(
                resource_type=t, tags={"Name": name, "inference-ra/pool": pool.name}
            )
            for t in ("instance", "volume", "network-interface")
        ],
        **capacity_options(pool),
        opts=ctx.aws_opts(parent),
    )

    zone = pool_zone(spec, pool)
    subnet = ctx.network.subnet_ids_by_az.get(zone) if zone else None
    nodes = pool.nodes
    return aws.eks.NodeGroup(
        name,
        cluster_name=eks.cluster_name,
        node_group_name=name,
        node_role_arn=eks.node_role_arn,
        subnet_ids=[subnet] if subnet is not None else [],
        ami_type=ami.ami_type_x86_64,
        capacity_type=EKS_CAPACITY_TYPE[pool.capacity.type],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=nodes.min, desired_size=nodes.resolved_desired, max_size=nodes.max
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=pool.max_unavailable),
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
        labels=pool_labels(spec, pool, placement_name),
        taints=[
            aws.eks.NodeGroupTaintArgs(key=t["key"], value=t["value"], effect=EKS_TAINT_EFFECT[t["effect"]])
            for t in pool_taints(pool)
        ],
        tags={"inference-ra/pool": pool.name},
        opts=ctx.aws_opts(parent, depends_on=list(eks.node_role_attachments)),
    )
