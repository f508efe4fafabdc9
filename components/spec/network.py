"""`inference-ra:network` — the VPC (aws) and the RDMA fabric every multi-GPU workload depends on."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from components.spec.base import SpecModel
from components.spec.types import Cidr, DnsSubdomain, LabelKey, LabelValue, UniqueList

FabricType = Literal["efa", "infiniband", "roce", "tcp"]
# An RDMA device (mlx5_0) or a Linux netdev (ibp24s0): IFNAMSIZ allows 15 characters.
RdmaDevice = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
NetDev = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,15}$")]
RDMA_FABRICS: frozenset[str] = frozenset({"efa", "infiniband", "roce"})


class RailMapping(SpecModel):
    gpu: int = Field(ge=0, description="GPU index on the node.")
    device: str = Field(description="RDMA device (e.g. mlx5_0) the GPU uses as its rail.")


class FabricIpam(SpecModel):
    cidr: Cidr = Field("192.168.0.0/16", description="Range split into one NV-IPAM IPPool per rail.")
    per_node_block_size: int = Field(16, ge=2, description="Addresses NV-IPAM hands each node per rail.")


class FabricSpec(SpecModel):
    type: FabricType = Field(
        "tcp", description="efa (AWS), infiniband or roce (NVIDIA Network Operator), or tcp (no RDMA)."
    )
    rails_per_node: int | None = Field(
        None,
        ge=1,
        le=32,
        description="RDMA rails per node; defaults to the node type's EFA interfaces or NICs from the catalog.",
    )
    link_speed_gbps: int = Field(400, ge=10, description="Per-rail link speed in Gb/s.")
    mtu: int | None = Field(
        None, ge=1280, le=9216, description="MTU of the secondary networks (default: 4092 IB, 9000 RoCE)."
    )
    devices: UniqueList[RdmaDevice] = Field(
        default_factory=list,
        description="RDMA devices (mlx5_*) in rail order, for infiniband/roce; one per rail.",
    )
    interfaces: UniqueList[NetDev] = Field(
        default_factory=list,
        description="Netdevs (e.g. ibp24s0, ens1f0np0) in rail order; used for secondary networks and NCCL.",
    )
    rail_mapping: list[RailMapping] = Field(
        default_factory=list, description="GPU to NIC mapping; default GPU i uses rail i."
    )
    pkey: str | None = Field(
        None, pattern=r"^0x[0-9a-fA-F]{1,4}$", description="InfiniBand partition key for IPoIB networks."
    )
    gid_index: int | None = Field(None, ge=0, le=255, description="RoCE GID index (RoCEv2, usually 3).")
    device_plugin: Literal["rdma-shared", "sriov"] = Field(
        "rdma-shared",
        description="RDMA shared device plugin (one resource per rail) or SR-IOV device plugin.",
    )
    driver: Literal["doca", "host"] = Field(
        "doca", description="`doca` deploys the DOCA-OFED driver container; `host` uses MOFED on the host."
    )
    ipam: FabricIpam = Field(default_factory=FabricIpam, description="NV-IPAM address plan for the rails.")
    nfd: Literal["gpu-operator", "network-operator", "existing"] = Field(
        "gpu-operator",
        description="Who deploys Node Feature Discovery (one per cluster): the GPU Operator of this stack (its PCI "
        "whitelist includes class 02 NICs, so Mellanox 15b3 labels appear), the Network Operator chart, or an "
        "NFD already installed on the cluster.",
    )

    @property
    def is_rdma(self) -> bool:
        return self.type in RDMA_FABRICS


class NodeTopology(SpecModel):
    rack: LabelValue | None = Field(None, description="Rack the node sits in.")
    nvlink_domain: LabelValue | None = Field(None, description="NVLink domain (clique) of the node.")
    rail_group: LabelValue | None = Field(None, description="Rail group (scalable unit) of the node.")


class TopologySpec(SpecModel):
    enabled: bool = Field(
        False, description="Label nodes with rack/NVLink-domain/rail and create Grove/KAI topology objects."
    )
    rack_label: LabelKey = Field("topology.kubernetes.io/rack", description="Node label naming the rack.")
    nvlink_domain_label: LabelKey = Field(
        "nvidia.com/gpu.clique", description="Node label naming the NVLink domain (clique)."
    )
    rail_group_label: LabelKey = Field(
        "inference-ra.nvidia.com/rail-group",
        description="Node label naming the rail group (scalable unit): nodes sharing it reach each other through "
        "the same rail leaf switches, one hop on every rail.",
    )
    nodes: dict[DnsSubdomain, NodeTopology] = Field(
        default_factory=dict,
        description="Existing clusters: per node name, its rack / NVLink domain / rail group, written as node "
        "labels. Leave empty when the provider already labels nodes (GPU feature discovery sets the clique).",
    )


class ExistingVpc(SpecModel):
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$", description="The VPC the cluster and its nodes join.")
    private_subnet_ids: dict[str, str] = Field(
        description="Private subnet of each availability zone (`us-east-2a: subnet-...`); nodes and the cluster "
        "use them. Their routing (NAT, VPC endpoints) is the VPC owner's."
    )


class NetworkSpec(SpecModel):
    vpc_cidr: Cidr = Field(
        "10.0.0.0/16",
        description="VPC CIDR (aws): of the VPC this stack creates, or the CIDR of network.existingVpc (the FSx "
        "Lustre ports are opened to it).",
    )
    existing_vpc: ExistingVpc | None = Field(
        None,
        description="Use an existing VPC instead of creating one (aws): no VPC, subnets, gateways or endpoints are "
        "created; the EFA and FSx security groups are created in it. The way to a private API endpoint that "
        "`pulumi up` can reach (cluster.privateEndpointAccess).",
    )
    availability_zones: UniqueList[str] = Field(
        default_factory=list,
        description="Availability zones of `aws:region` (e.g. us-east-2a); one private subnet each (aws).",
    )
    nat_gateways: Literal["single", "per-az"] = Field(
        "single", description="One NAT gateway, or one per AZ for zonal resilience (aws)."
    )
    endpoints: UniqueList[Literal["s3", "ecr.api", "ecr.dkr", "sts", "logs"]] = Field(
        default_factory=lambda: ["s3", "ecr.api", "ecr.dkr", "sts"],  # type: ignore[arg-type]
        description="VPC endpoints so image pulls and model downloads stay off NAT (aws).",
    )
    fabric: FabricSpec = Field(default_factory=FabricSpec, description="The GPU-to-GPU fabric.")
    topology: TopologySpec = Field(default_factory=TopologySpec, description="Topology-aware scheduling.")
