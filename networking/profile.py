"""The fabric profile: everything a GPU pod needs from the fabric, as one function of the typed fabric.

Serving and acceptance use only this; no other module knows how EFA, InfiniBand or RoCE are wired.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.spec import GpuPoolSpec, StackSpec

EFA_RESOURCE = "vpc.amazonaws.com/efa"


def rdma_resource_name(rail: int) -> str:
    """Resource the RDMA shared device plugin advertises for rail `rail` (see the NicClusterPolicy)."""
    return f"rdma/rail{rail}"


def network_name(rail: int) -> str:
    """Name of the secondary network (IPoIB / Macvlan / HostDevice network) of rail `rail`."""
    return f"rail{rail}"


@dataclass(frozen=True)
class FabricProfile:
    fabric: str  # efa | infiniband | roce | tcp
    rails: int
    resources: dict[str, int] = field(default_factory=dict)  # extended resources per GPU pod (requests = limits)
    capabilities: tuple[str, ...] = ()  # container capabilities to add
    env: dict[str, str] = field(default_factory=dict)  # NCCL / UCX / libfabric / NIXL environment
    annotations: dict[str, str] = field(default_factory=dict)  # pod annotations (network attachments)
    nixl_backend: str = "UCX"  # UCX | LIBFABRIC

    @property
    def is_rdma(self) -> bool:
        return self.fabric != "tcp"


def fabric_profile(spec: StackSpec, pool: GpuPoolSpec) -> FabricProfile:
    fabric = spec.network.fabric
    rails = spec.rails_per_node(pool)
    if fabric.type == "tcp":
        return FabricProfile(
            "tcp", 0, env={"NCCL_IB_DISABLE": "1", "UCX_TLS": "tcp,cuda_copy,cuda_ipc"}, nixl_backend="UCX"
        )
    if fabric.type == "efa":
        return FabricProfile(
            "efa",
            rails,
            resources={EFA_RESOURCE: rails},
            capabilities=("IPC_LOCK",),
            env={
                "FI_PROVIDER": "efa",
                "FI_EFA_USE_DEVICE_RDMA": "1",
                "FI_EFA_FORK_SAFE": "1",
                "NCCL_SOCKET_IFNAME": "^lo,docker,veth",
                "NCCL_NET_PLUGIN": "aws-ofi",
                "NIXL_BACKEND": "LIBFABRIC",
            },
            nixl_backend="LIBFABRIC",
        )
    devices = fabric.devices[:rails]
    env = {
        "NCCL_IB_HCA": ",".join(f"={d}" for d in devices) if devices else "mlx5",
        "NCCL_SOCKET_IFNAME": "eth0",
        "UCX_TLS": "rc,cuda_copy,cuda_ipc",
        "UCX_NET_DEVICES": ",".join(f"{d}:1" for d in devices),
        "NIXL_BACKEND": "UCX",
    }
    if fabric.type == "roce" and fabric.gid_index is not None:
        env["NCCL_IB_GID_INDEX"] = str(fabric.gid_index)
        env["UCX_IB_GID_INDEX"] = str(fabric.gid_index)
    return FabricProfile(
        fabric.type,
        rails,
        resources={rdma_resource_name(i): 1 for i in range(rails)},
        capabilities=("IPC_LOCK",),
        env=env,
        annotations={"k8s.v1.cni.cncf.io/networks": ",".join(network_name(i) for i in range(rails))},
        nixl_backend="UCX",
    )
