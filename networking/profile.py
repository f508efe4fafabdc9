"""The fabric profile: everything a GPU pod needs from the fabric, as one function of the typed fabric.

The fabric layer hands one profile per pool to later layers (`FabricOutputs.profiles`; serving reads it); no other
module knows how EFA, InfiniBand or RoCE are wired. The names here are the contract with what the fabric layer
deploys:

- `rdma_resource_name(rail)` is what the NicClusterPolicy's device plugin advertises for a rail
  (`<resourcePrefix>/<resourceName>`, see `networking.network_operator.device_plugin_config`);
- `network_name(rail)` is the name of the rail's IPoIBNetwork / MacvlanNetwork / HostDeviceNetwork, and so of the
  NetworkAttachmentDefinition the Network Operator renders from it in `NETWORK_NAMESPACE`; pods in other
  namespaces attach it as `<namespace>/<name>` (`network_attachment(rail)`), which Multus resolves across
  namespaces (the operator's Multus config does not enable namespace isolation).

Environment variables and their sources are listed in docs/fabric.md.
"""

from __future__ import annotations

from components.catalog.nodes import nics_for_gpus
from components.outputs import FabricProfile
from components.spec import GpuPoolSpec, StackSpec
from components.spec.network import FabricSpec

EFA_RESOURCE = "vpc.amazonaws.com/efa"
NETWORK_NAMESPACE = "network-operator"  # where the rails' NetworkAttachmentDefinitions live (NV-IPAM's namespace)
NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"

# Resource prefixes. The RDMA shared device plugin takes any prefix (we set `rdma`, its default). The Network
# Operator forces `nvidia.com/` onto a HostDeviceNetwork's resourceName, so SR-IOV rails live under nvidia.com.
RDMA_SHARED_PREFIX = "rdma"
SRIOV_PREFIX = "nvidia.com"
# The pod's primary interface: Kubernetes CNIs (VPC CNI, Calico, Cilium...) name it eth0; Multus adds net1..netN.
POD_PRIMARY_IFNAME = "eth0"


def rdma_resource_name(rail: int, device_plugin: str = "rdma-shared") -> str:
    """Extended resource a pod requests for rail `rail`: what the NicClusterPolicy's device plugin advertises."""
    if device_plugin == "sriov":
        return f"{SRIOV_PREFIX}/{sriov_resource(rail)}"
    return f"{RDMA_SHARED_PREFIX}/{shared_resource(rail)}"


def shared_resource(rail: int) -> str:
    """`resourceName` of rail `rail` in the RDMA shared device plugin config (letters, digits, `_` only)."""
    return f"rail{rail}"


def sriov_resource(rail: int) -> str:
    """`resourceName` of rail `rail` in the SR-IOV device plugin config and the HostDeviceNetwork."""
    return f"sriov_rail{rail}"


def network_name(rail: int) -> str:
    """Name of the secondary network (IPoIB / Macvlan / HostDevice network and its NAD) of rail `rail`."""
    return f"rail{rail}"


def network_attachment(rail: int) -> str:
    """Reference to rail `rail`'s NetworkAttachmentDefinition as a pod in any namespace writes it."""
    return f"{NETWORK_NAMESPACE}/{network_name(rail)}"


def rail_devices(fabric: FabricSpec, rails: int) -> list[str]:
    """The pool's RDMA devices (mlx5_*) in rail order: the first `rails` of the fabric's device list."""
    return list(fabric.devices[:rails])


def efa_interfaces_by_gpus(spec: StackSpec, pool: GpuPoolSpec) -> tuple[int, ...]:
    """EFA interfaces a pod with 1..N GPUs requests on `pool` (N = GPUs per node): the interfaces of the NIC groups
    its GPUs sit in, from the node type's GPU-to-NIC topology (`NodeType.nic_group`), so the node's interfaces are
    shared among its GPU pods instead of the first pod taking all of them."""
    nt = spec.node_type(pool)
    if nt is None:
        return ()
    rails = spec.rails_per_node(pool)
    return tuple(nics_for_gpus(nt, g, rails) for g in range(1, nt.gpus + 1))


def fabric_profile(spec: StackSpec, pool: GpuPoolSpec) -> FabricProfile:
    """What a pod on `pool` needs to use the fabric: resources, capabilities, annotations and environment."""
    fabric = spec.network.fabric
    rails = spec.rails_per_node(pool)
    if fabric.type == "tcp" or rails == 0:
        return FabricProfile(
            env={
                "NCCL_IB_DISABLE": "1",
                "NCCL_SOCKET_IFNAME": f"={POD_PRIMARY_IFNAME}",
                "UCX_TLS": "tcp,cuda_copy,cuda_ipc",
                "UCX_NET_DEVICES": POD_PRIMARY_IFNAME,
            },
            nixl_backend="UCX",
        )
    if fabric.type == "efa":
        return FabricProfile(
            capabilities=("IPC_LOCK",),
            env={
                "FI_PROVIDER": "efa",
                "FI_EFA_USE_DEVICE_RDMA": "1",
                "FI_EFA_FORK_SAFE": "1",
                "FI_EFA_ENABLE_SHM_TRANSFER": "0",
                "NCCL_SOCKET_IFNAME": f"={POD_PRIMARY_IFNAME}",
            },
            nixl_backend="LIBFABRIC",
            nic_resource=EFA_RESOURCE,
            nics_by_gpus=efa_interfaces_by_gpus(spec, pool),
            nixl_needs_privileged=True,
        )
    devices = rail_devices(fabric, rails)
    env = {
        "NCCL_IB_HCA": "=" + ",".join(f"{d}:1" for d in devices),
        "NCCL_SOCKET_IFNAME": f"={POD_PRIMARY_IFNAME}",
        "UCX_TLS": "rc,cuda_copy,cuda_ipc",
        "UCX_NET_DEVICES": ",".join(f"{d}:1" for d in devices),
    }
    if fabric.type == "roce":
        # RoCE addresses peers by GID: pin the RoCEv2 GID index for NCCL and UCX, and the Ethernet address type.
        # (InfiniBand keeps UCX's `auto`, which uses LID addressing inside the subnet; `eth` is RoCE-only.)
        if fabric.gid_index is not None:
            env["NCCL_IB_GID_INDEX"] = str(fabric.gid_index)
            env["UCX_IB_GID_INDEX"] = str(fabric.gid_index)
        env["UCX_IB_ADDR_TYPE"] = "eth"
    return FabricProfile(
        resources={rdma_resource_name(i, fabric.device_plugin): 1 for i in range(rails)},
        capabilities=("IPC_LOCK",),
        env=dict(sorted(env.items())),
        annotations={NETWORKS_ANNOTATION: ",".join(network_attachment(i) for i in range(rails))},
        nixl_backend="UCX",
    )
