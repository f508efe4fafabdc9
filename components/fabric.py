"""What the GPU Operator must do for the stack's fabric: one function each, used by the compute layer (the
GPU Operator's values) and the fabric layer (the Network Operator's values), so the two operators never disagree.

- `gpu_operator_rdma(spec)`: `driver.rdma` — GPUDirect RDMA (nvidia-peermem) on InfiniBand / RoCE unless
  `gpuOperator.rdma` says otherwise; `useHostMofed` when the NIC driver is MOFED on the host (`fabric.driver: host`)
  rather than the Network Operator's DOCA driver container (GPU Operator values.yaml `driver.rdma.useHostMofed`;
  GPU Operator docs "GPUDirect RDMA": set it when MOFED is pre-installed on the host).
- `gpu_operator_deploys_nfd(spec)`: `nfd.enabled` — one Node Feature Discovery per cluster; the GPU Operator keeps
  its own only when `fabric.nfd: gpu-operator` (the Network Operator chart deploys it with `network-operator`, and
  `existing` means one runs already).
"""

from __future__ import annotations

from components.spec import StackSpec

NIC_FABRICS = ("infiniband", "roce")


def gpu_operator_rdma(spec: StackSpec) -> dict[str, bool]:
    fabric = spec.network.fabric
    on_nics = fabric.type in NIC_FABRICS
    enabled = spec.gpu_operator.rdma if spec.gpu_operator.rdma is not None else on_nics
    host = on_nics and fabric.driver == "host"
    return {
        "enabled": bool(enabled),
        "useHostMofed": bool(enabled and (host or spec.gpu_operator.driver.use_host_mofed)),
    }


def gpu_operator_deploys_nfd(spec: StackSpec) -> bool:
    return spec.network.fabric.nfd == "gpu-operator"
