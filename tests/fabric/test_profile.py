"""The fabric profile per fabric type: exact resources, capabilities, annotations and environment."""

from __future__ import annotations

from networking.profile import fabric_profile, network_attachment, rdma_resource_name
from tests.fabric.conftest import IB8, base_config, spec_of


def _profile(fabric, instance="dgx-h100", provider="existing"):  # type: ignore[no-untyped-def]
    spec = spec_of(base_config(fabric, instance=instance, provider=provider))
    return fabric_profile(spec, spec.gpu_pools[0])


def test_tcp_profile_has_no_rdma() -> None:
    p = _profile({"type": "tcp"})
    assert p.nixl_backend == "UCX"
    assert p.resources == {} and p.capabilities == () and p.annotations == {}
    assert p.env == {
        "NCCL_IB_DISABLE": "1",
        "NCCL_SOCKET_IFNAME": "=eth0",
        "UCX_TLS": "tcp,cuda_copy,cuda_ipc",
        "UCX_NET_DEVICES": "eth0",
    }


def test_efa_profile_on_p5_takes_four_interfaces_per_gpu() -> None:
    p = _profile({"type": "efa"}, instance="p5.48xlarge", provider="aws")
    assert p.nixl_backend == "LIBFABRIC" and p.nixl_needs_privileged
    assert p.resources == {}
    assert (p.nic_resource, p.nics_by_gpus) == ("vpc.amazonaws.com/efa", (4, 8, 12, 16, 20, 24, 28, 32))
    assert p.capabilities == ("IPC_LOCK",)
    assert p.annotations == {}
    assert p.env == {
        "FI_PROVIDER": "efa",
        "FI_EFA_USE_DEVICE_RDMA": "1",
        "FI_EFA_FORK_SAFE": "1",
        "FI_EFA_ENABLE_SHM_TRANSFER": "0",
        "NCCL_SOCKET_IFNAME": "=eth0",
    }


def test_efa_profile_on_p4d_shares_one_interface_per_two_gpus() -> None:
    p = _profile({"type": "efa"}, instance="p4d.24xlarge", provider="aws")
    assert p.nics_by_gpus == (1, 1, 2, 2, 3, 3, 4, 4)


def test_infiniband_profile_one_resource_and_network_per_rail() -> None:
    p = _profile(IB8)
    assert p.nixl_backend == "UCX"
    assert p.resources == {f"rdma/rail{i}": 1 for i in range(8)}
    assert p.capabilities == ("IPC_LOCK",)
    assert p.annotations == {"k8s.v1.cni.cncf.io/networks": ",".join(f"network-operator/rail{i}" for i in range(8))}
    devices = ",".join(f"mlx5_{i}:1" for i in range(8))
    assert p.env == {
        "NCCL_IB_HCA": "=" + devices,
        "NCCL_SOCKET_IFNAME": "=eth0",
        "UCX_NET_DEVICES": devices,
        "UCX_TLS": "rc,cuda_copy,cuda_ipc",
    }
    assert "UCX_IB_ADDR_TYPE" not in p.env  # `eth` is RoCE's address type; IB keeps UCX's auto (LID)


def test_roce_profile_pins_gid_index_and_eth_addressing() -> None:
    roce = {
        "type": "roce",
        "devices": ["mlx5_0", "mlx5_1"],
        "interfaces": ["ens1f0np0", "ens2f0np0"],
        "railsPerNode": 2,
        "gidIndex": 3,
    }
    p = _profile(roce)
    assert p.resources == {"rdma/rail0": 1, "rdma/rail1": 1}
    assert p.annotations == {"k8s.v1.cni.cncf.io/networks": "network-operator/rail0,network-operator/rail1"}
    assert p.env == {
        "NCCL_IB_GID_INDEX": "3",
        "NCCL_IB_HCA": "=mlx5_0:1,mlx5_1:1",
        "NCCL_SOCKET_IFNAME": "=eth0",
        "UCX_IB_ADDR_TYPE": "eth",
        "UCX_IB_GID_INDEX": "3",
        "UCX_NET_DEVICES": "mlx5_0:1,mlx5_1:1",
        "UCX_TLS": "rc,cuda_copy,cuda_ipc",
    }


def test_sriov_profile_requests_host_device_vfs() -> None:
    p = _profile({**IB8, "devicePlugin": "sriov", "railsPerNode": 4})
    assert p.resources == {f"nvidia.com/sriov_rail{i}": 1 for i in range(4)}
    assert p.annotations["k8s.v1.cni.cncf.io/networks"] == ",".join(f"network-operator/rail{i}" for i in range(4))
    assert p.env["NCCL_IB_HCA"] == "=mlx5_0:1,mlx5_1:1,mlx5_2:1,mlx5_3:1"


def test_gb200_tray_gets_four_rails_of_an_eight_device_fabric() -> None:
    config = base_config(IB8)
    config["gpuPools"].append(
        {
            "name": "gb200",
            "gpu": "gb200",
            "instanceType": "gb200-nvl72-tray",
            "nodes": {"min": 18, "max": 18},
            "nodeSelector": {"sku": "gb200"},
        }
    )
    spec = spec_of(config)
    p = fabric_profile(spec, spec.gpu_pools[1])
    assert sorted(p.resources) == [rdma_resource_name(i) for i in range(4)]
    assert p.env["UCX_NET_DEVICES"] == "mlx5_0:1,mlx5_1:1,mlx5_2:1,mlx5_3:1"
    assert network_attachment(3) == "network-operator/rail3"
