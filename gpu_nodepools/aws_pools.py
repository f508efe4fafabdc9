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
  mounts the array at `<mountPath>/0` and moves containerd and kubelet state onto it (`local_nvme_host_path`; the
  compute layer hands that path to the storage layer as `ComputeOutputs.local_nvme_paths`).
- FSx for Lustre over EFA: GPU nodes of an EFA pool get a second user-data part that installs the Lustre client and
  runs AWS's EFA client configuration (`lustre_efa_client_script`).
- Capacity Blocks: the node group is created empty; two `autoscaling.Schedule` actions on its Auto Scaling group
  scale it to `nodes.max` at the block's start and back to 0 before its end (`block_schedules`).
Upstream sources for each: docs/compute.md.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, timedelta
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
# AWS's sample that configures LNet on a client's EFA interfaces (FSx for Lustre user guide, "Configuring EFA clients";
# the EKS page "Optimize Amazon FSx for Lustre performance on nodes (EFA)" runs the same steps at node bootstrap).
LUSTRE_EFA_CLIENT_SAMPLE = (
    "https://docs.aws.amazon.com/fsx/latest/LustreGuide/samples/configure-efa-fsx-lustre-client.zip"
)
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
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


def uses_lustre_over_efa(spec: StackSpec, pool: GpuPoolSpec) -> bool:
    """Whether the pool's nodes mount an EFA-enabled FSx for Lustre over their EFA interfaces."""
    fs = spec.storage.parallel_fs
    return fs.type == "fsx-lustre" and fs.efa and bool(efa_network_interfaces(spec, pool))


def lustre_efa_client_script() -> str:
    """Boot script of an EFA client of FSx for Lustre on the EKS AL2023 NVIDIA AMI (which ships the EFA driver):
    the Lustre client from the AL2023 repository, then AWS's sample configures LNet on the EFA interfaces and
    installs a systemd unit that re-applies it on every boot. Without it the CSI driver's Lustre mount works, over
    TCP on the primary ENA interface only."""
    return (
        "#!/bin/bash\n"
        "# FSx for Lustre client over EFA (inference-ra; docs/compute.md names the sources)\n"
        "set -euo pipefail\n"
        "dnf install -y lustre-client\n"
        'work="$(mktemp -d)"\n'
        'cd "$work"\n'
        f"curl -fsSL --retry 5 --retry-delay 10 -o client.zip {LUSTRE_EFA_CLIENT_SAMPLE}\n"
        "python3 -m zipfile -e client.zip .\n"
        "bash configure-efa-fsx-lustre-client/setup.sh\n"
    )


def nodeadm_user_data(spec: StackSpec, pool: GpuPoolSpec) -> str | None:
    """MIME multi-part user data (the AL2023 nodeadm format), unencoded; None when there is nothing to add."""
    parts: list[str] = []
    config = node_config(pool)
    if config["spec"]:
        body = yaml.safe_dump(config, sort_keys=False)
        parts.append(f"Content-Type: application/node.eks.aws\n\n---\n{body}\n")
    if uses_lustre_over_efa(spec, pool):
        parts.append(f'Content-Type: text/x-shellscript; charset="us-ascii"\n\n{lustre_efa_client_script()}\n')
    if not parts:
        return None
    body = "".join(f"--{MIME_BOUNDARY}\n{part}" for part in parts)
    return (
        f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\n\n{body}--{MIME_BOUNDARY}--\n'
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
        placement_group = aws.ec2.PlacementGroup(name, name=name, strategy="cluster", opts=ctx.aws_opts(parent))
        placement_name = name
        placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=placement_group.name)

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

    user_data = nodeadm_user_data(spec, pool)
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
    opts = ctx.aws_opts(parent, depends_on=list(eks.node_role_attachments))
    block = pool.capacity.type == "capacity-block"
    if block:
        # the schedule owns the size during the block; `pulumi up` must not reset it to 0
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize", "scalingConfig.minSize"])
        )
    group = aws.eks.NodeGroup(
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
        opts=opts,
    )
    if block:
        block_schedules(ctx, parent, name, group, pool)
    return group


def _get(obj: Any, snake: str, camel: str) -> Any:
    """A field of a provider output object (typed class, or a plain dict under the offline engine)."""
    if not isinstance(obj, dict) or hasattr(type(obj), snake):  # typed output classes subclass dict
        return getattr(obj, snake)
    return obj.get(snake, obj.get(camel))


def autoscaling_group_name(group: aws.eks.NodeGroup) -> pulumi.Output[str]:
    """The Auto Scaling group EKS created for a managed node group (`resources[0].autoscalingGroups[0].name`)."""

    def first(resources: Any) -> str:
        groups = _get(resources[0], "autoscaling_groups", "autoscalingGroups")
        return str(_get(groups[0], "name", "name"))

    return group.resources.apply(first)


def block_times(pool: GpuPoolSpec) -> tuple[str, str]:
    """(scale-out, scale-in) times of a capacity-block pool, UTC: the block's start, and `scaleInMinutesBeforeEnd`
    before its end."""
    cap = pool.capacity
    assert cap.start is not None and cap.end is not None  # rule capacity-block-window
    scale_in = cap.end - timedelta(minutes=cap.scale_in_minutes_before_end)
    return cap.start.astimezone(UTC).strftime(UTC_FORMAT), scale_in.astimezone(UTC).strftime(UTC_FORMAT)


def block_schedules(
    ctx: PlatformContext, parent: pulumi.Resource, name: str, group: aws.eks.NodeGroup, pool: GpuPoolSpec
) -> list[aws.autoscaling.Schedule]:
    """Scale the empty capacity-block group to the block's size when it starts, and to 0 before it ends (EC2 Auto
    Scaling user guide, "Use Capacity Blocks for machine learning workloads"; max -1 leaves the maximum as is)."""
    start, scale_in = block_times(pool)
    asg = autoscaling_group_name(group)
    size = pool.nodes.max
    return [
        aws.autoscaling.Schedule(
            f"{name}-block-{role}",
            autoscaling_group_name=asg,
            scheduled_action_name=f"{name}-block-{role}",
            start_time=at,
            min_size=count,
            desired_capacity=count,
            max_size=-1,
            opts=ctx.aws_opts(parent, depends_on=[group]),
        )
        for role, at, count in (("start", start, size), ("end", scale_in, 0))
    ]
