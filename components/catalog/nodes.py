"""Node types: AWS GPU instance types and the bare-metal systems NCPs run.

AWS figures from the EC2 accelerated-computing instance specifications page and the EFA "supported instance
types" table (2026-08). `efa_interfaces` is the number of network cards that carry an EFA interface; on P5 the
first also carries the primary ENA device. `nics` on bare metal is the number of compute-fabric ConnectX ports
(one per GPU rail). Bare-metal entries from the NVIDIA DGX H100 / HGX H200 / GB200 NVL72 system datasheets.

GPU-to-NIC topology (`nic_group`: GPUs, NICs that share one PCIe switch): a pod gets the NICs of the groups its GPUs
sit in, so a 2-GPU pod on a p5.48xlarge (8 GPUs, 32 EFA interfaces, 4 per GPU) requests 8 interfaces and four such
pods fit a node. Sources: AWS EC2 User Guide "Maximize network bandwidth on accelerated computing instances" (p5 /
p5e: 4 EFA per GPU, p5en: 2, p6-b200: 1), p4d (4 EFA for 8 A100, one per PCIe switch of 2 GPUs), g6e.12xlarge /
24xlarge / 48xlarge (1 / 2 / 4 EFA for 4 / 4 / 8 GPUs); DGX H100, HGX H200 and GB200 trays pair every GPU with one
ConnectX-7 (NVIDIA DGX H100 user guide, GB200 NVL72 datasheet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class NodeType:
    key: str
    provider: str  # aws | baremetal
    gpu: str  # key into GPUS
    gpus: int
    vcpus: int
    memory_gib: int
    local_nvme_gb: int  # total instance-store / local NVMe capacity, GB
    nvme_devices: int
    efa_interfaces: int  # 0 = no EFA
    nics: int  # RDMA NICs for the compute fabric (bare metal) / network cards (AWS)
    network_gbps: int
    source: str
    nic_group: tuple[int, int] = (1, 1)  # (GPUs, compute-fabric NICs / EFA interfaces) behind one PCIe switch

    @property
    def price_per_hour_usd(self) -> float:
        """Catalog list price of one node-hour; prices live in components/catalog/prices.py (the one source),
        and spec-aware callers use `PriceBook.for_spec(spec)` so that `policy.prices` overrides apply."""
        from components.catalog.prices import DEFAULT_PRICES

        return DEFAULT_PRICES.node_hour_usd(self.key)

    @property
    def local_nvme_gib(self) -> int:
        return int(self.local_nvme_gb * 1e9 / 2**30)


def _aws(key, gpu, gpus, vcpus, mem, nvme_gb, nvme_n, efa, cards, gbps, group=(1, 1)) -> NodeType:  # type: ignore[no-untyped-def]
    return NodeType(
        key,
        "aws",
        gpu,
        gpus,
        vcpus,
        mem,
        nvme_gb,
        nvme_n,
        efa,
        cards,
        gbps,
        f"AWS EC2 accelerated computing instance specs ({key}); EFA supported instance types",
        group,
    )


NODE_TYPES: dict[str, NodeType] = {
    n.key: n
    for n in (
        _aws("p4d.24xlarge", "a100-sxm-40gb", 8, 96, 1152, 8000, 8, 4, 4, 400, (2, 1)),
        _aws("p5.48xlarge", "h100-sxm-80gb", 8, 192, 2048, 30720, 8, 32, 32, 3200, (1, 4)),
        _aws("p5e.48xlarge", "h200-sxm-141gb", 8, 192, 2048, 30720, 8, 32, 32, 3200, (1, 4)),
        _aws("p5en.48xlarge", "h200-sxm-141gb", 8, 192, 2048, 30720, 8, 16, 16, 3200, (1, 2)),
        _aws("p6-b200.48xlarge", "b200-180gb", 8, 192, 2048, 30720, 8, 8, 8, 3200),
        _aws("g6e.xlarge", "l40s-48gb", 1, 4, 32, 250, 1, 0, 1, 20),
        _aws("g6e.2xlarge", "l40s-48gb", 1, 8, 64, 450, 1, 0, 1, 20),
        _aws("g6e.4xlarge", "l40s-48gb", 1, 16, 128, 600, 1, 0, 1, 20),
        _aws("g6e.8xlarge", "l40s-48gb", 1, 32, 256, 900, 1, 1, 1, 25),
        _aws("g6e.12xlarge", "l40s-48gb", 4, 48, 384, 3800, 2, 1, 1, 100, (4, 1)),
        _aws("g6e.16xlarge", "l40s-48gb", 1, 64, 512, 1900, 1, 1, 1, 35),
        _aws("g6e.24xlarge", "l40s-48gb", 4, 96, 768, 3800, 2, 2, 2, 200, (2, 1)),
        _aws("g6e.48xlarge", "l40s-48gb", 8, 192, 1536, 7600, 4, 4, 4, 400, (2, 1)),
        NodeType(
            "dgx-h100",
            "baremetal",
            "h100-sxm-80gb",
            8,
            224,
            2048,
            30720,
            8,
            0,
            8,
            3200,
            "NVIDIA DGX H100 datasheet: 8x H100, 2 TB RAM, 8x 3.84 TB NVMe, 8x ConnectX-7 400 Gb/s",
        ),
        NodeType(
            "hgx-h200-8gpu",
            "baremetal",
            "h200-sxm-141gb",
            8,
            224,
            2048,
            30720,
            8,
            0,
            8,
            3200,
            "NVIDIA HGX H200 reference (8x H200, 8x ConnectX-7 400 Gb/s); RAM/NVMe as DGX H200 datasheet",
        ),
        NodeType(
            "gb200-nvl72-tray",
            "baremetal",
            "gb200",
            4,
            144,
            960,
            15360,
            4,
            0,
            4,
            1600,
            "NVIDIA GB200 NVL72 datasheet: compute tray = 2 Grace + 4 Blackwell, 960 GB LPDDR5X, "
            "4x ConnectX-7 400 Gb/s, 4x E1.S NVMe; 18 trays per NVLink domain",
        ),
    )
}


def nics_for_gpus(nt: NodeType, gpus: int, node_nics: int | None = None) -> int:
    """Compute-fabric NICs (EFA interfaces, RDMA rails) a pod with `gpus` GPUs takes on a node of type `nt`: those
    of the NIC groups its GPUs sit in (`nic_group`). `node_nics` is the node's usable NIC count when the stack uses
    fewer than the catalog's (network.fabric.railsPerNode); groups then share them evenly. At least one."""
    group_gpus, group_nics = nt.nic_group
    groups = max(1, nt.gpus // group_gpus)
    per_group = group_nics if node_nics is None else max(1, node_nics // groups)
    return max(1, math.ceil(gpus / group_gpus) * per_group)
