"""What a node of a pool must show, from the pool's spec and the catalog (or from command-line overrides).

Pure and import-light: the spec (pydantic) is imported only when a stack is named, so the suite also runs on GPU
hosts that carry nothing but pytest, testinfra and this repository's stdlib-only catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from components.catalog.gpus import GPUS
from components.catalog.nodes import NODE_TYPES
from gpu_nodepools.thresholds import NVLINK_LINKS, SMI_NAMES

RDMA_FABRICS = ("efa", "infiniband", "roce")

# XIDs that a user program causes (NVIDIA "XID Errors" catalog: 13 graphics engine exception, 31 GPU memory page
# fault, 43 GPU stopped processing, 45 preemptive cleanup); they say nothing about the node and are reported only.
APPLICATION_XIDS: frozenset[int] = frozenset({13, 31, 43, 45})


@dataclass(frozen=True)
class NodeExpectations:
    gpu: str  # catalog key
    gpus: int
    driver_branch: int | None
    fabric: str  # efa | infiniband | roce | tcp
    rails: int
    nvswitch: bool  # GPUs joined through NVSwitch: fabric manager (or the NVLink fabric) must be up
    nvme_mount: str | None  # a RAID0 array must be mounted here
    source: str

    @property
    def smi_names(self) -> tuple[str, ...]:
        return SMI_NAMES.get(self.gpu, ())

    @property
    def nvlink_links(self) -> int:
        return NVLINK_LINKS.get(self.gpu, 0) if self.gpus > 1 else 0

    @property
    def rdma(self) -> bool:
        return self.fabric in RDMA_FABRICS


def is_nvswitch_system(gpu_key: str, gpus: int) -> bool:
    """HGX/DGX-style baseboards (and NVL72 trays): 4+ NVLink GPUs are joined by NVSwitches, not point to point."""
    return GPUS[gpu_key].nvlink_domain > 1 and gpus >= 4


def from_spec(spec: Any, pool_name: str) -> NodeExpectations:
    pool = spec.pool(pool_name)
    if pool is None:
        raise KeyError(f"pool {pool_name!r} not in the stack; pools: {[p.name for p in spec.gpu_pools]}")
    nt = NODE_TYPES[pool.instance_type]
    nvme = pool.local_nvme.mount_path if pool.local_nvme is not None and pool.local_nvme.raid0 else None
    return NodeExpectations(
        gpu=pool.gpu,
        gpus=nt.gpus,
        driver_branch=spec.gpu_operator.driver.branch,
        fabric=spec.network.fabric.type,
        rails=spec.rails_per_node(pool) if spec.network.fabric.is_rdma else 0,
        nvswitch=is_nvswitch_system(pool.gpu, nt.gpus),
        nvme_mount=nvme,
        source=f"pool {pool_name!r} ({pool.instance_type})",
    )


def from_stack(stack: str, pool_name: str | None) -> NodeExpectations:
    # the spec needs pydantic: imported only when a stack is named
    from components.loader import read_stack_file, spec_from_stack_file

    spec = spec_from_stack_file(read_stack_file(stack))
    name = pool_name or (spec.gpu_pools[0].name if len(spec.gpu_pools) == 1 else None)
    if name is None:
        raise KeyError(f"stack {stack!r} has several pools; pick one with --pool {[p.name for p in spec.gpu_pools]}")
    exp = from_spec(spec, name)
    return replace(exp, source=f"stack {stack!r}, {exp.source}")


def from_options(
    base: NodeExpectations | None,
    *,
    gpu: str | None = None,
    gpus: int | None = None,
    driver_branch: int | None = None,
    fabric: str | None = None,
    rails: int | None = None,
    nvswitch: bool | None = None,
    nvme_mount: str | None = None,
) -> NodeExpectations | None:
    """Apply command-line overrides; with no stack, --gpu and --gpus are the least that says what to expect."""
    if base is None:
        if gpu is None or gpus is None:
            return None
        if gpu not in GPUS:
            raise KeyError(f"--gpu {gpu!r} is not in the GPU catalog: {sorted(GPUS)}")
        base = NodeExpectations(
            gpu=gpu,
            gpus=gpus,
            driver_branch=None,
            fabric="tcp",
            rails=0,
            nvswitch=is_nvswitch_system(gpu, gpus),
            nvme_mount=None,
            source="command line",
        )
    changes: dict[str, Any] = {}
    for key, value in (
        ("gpu", gpu),
        ("gpus", gpus),
        ("driver_branch", driver_branch),
        ("fabric", fabric),
        ("rails", rails),
        ("nvswitch", nvswitch),
    ):
        if value is not None:
            changes[key] = value
    if nvme_mount is not None:
        changes["nvme_mount"] = None if nvme_mount == "none" else nvme_mount
    if ("gpu" in changes or "gpus" in changes) and nvswitch is None:
        changes["nvswitch"] = is_nvswitch_system(changes.get("gpu", base.gpu), changes.get("gpus", base.gpus))
    return replace(base, **changes) if changes else base
