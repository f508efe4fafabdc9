"""`inference-ra:gpuPools` and `inference-ra:gpuOperator` — GPU capacity and what makes it usable."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from components.spec.base import SpecModel
from components.spec.types import MAX_NODES, AbsolutePath, DnsSubdomain, LabelKey, Labels, LabelValue, UniqueList


class NodeCount(SpecModel):
    min: int = Field(ge=0, le=MAX_NODES, description="Minimum nodes (0 lets an autoscaled pool sleep).")
    max: int = Field(ge=1, le=MAX_NODES, description="Maximum nodes (Kubernetes supports at most 5,000 per cluster).")
    desired: int | None = Field(None, ge=0, le=MAX_NODES, description="Desired nodes at creation (default: min).")

    @property
    def resolved_desired(self) -> int:
        return self.min if self.desired is None else self.desired


class CapacitySpec(SpecModel):
    type: Literal["on-demand", "capacity-reservation", "capacity-block", "spot"] = Field(
        "on-demand", description="How GPU capacity is bought (aws)."
    )
    reservation_id: str | None = Field(
        None, pattern=r"^cr-[0-9a-f]{3,17}$", description="EC2 capacity reservation / capacity block id."
    )
    start: AwareDatetime | None = Field(
        None,
        description="capacity-block: the block's start time, with its zone (e.g. 2026-12-01T11:30:00Z). A scheduled "
        "action scales the pool from 0 to nodes.max at this time.",
    )
    end: AwareDatetime | None = Field(
        None,
        description="capacity-block: the block's end time, with its zone. A scheduled action scales the pool back "
        "to 0 `scaleInMinutesBeforeEnd` earlier (EC2 reclaims the instances at the end).",
    )
    scale_in_minutes_before_end: int = Field(
        45,
        ge=31,
        le=1440,
        description="capacity-block: minutes before `end` at which the pool scales to 0, so pods drain before EC2 "
        "terminates the instances (AWS: more than 30).",
    )


class LocalNvmeSpec(SpecModel):
    raid0: bool = Field(True, description="Assemble the local NVMe devices into one RAID0 array at boot.")
    mount_path: AbsolutePath = Field("/mnt/nvme", description="Where the array is mounted on the host.")


class MigSpec(SpecModel):
    strategy: Literal["none", "single", "mixed"] = Field("none", description="GPU Operator MIG strategy.")
    config: LabelValue | None = Field(
        None, description="MIG config name for the nvidia.com/mig.config label, e.g. all-1g.10gb."
    )
    profiles: UniqueList[str] = Field(default_factory=list, description="MIG profiles used; must exist for the GPU.")


class AcceptanceSpec(SpecModel):
    enabled: bool = Field(True, description="Run the GPU burn-in on every node of the pool.")
    gate: bool = Field(False, description="Serving graphs on this pool wait for the acceptance to pass.")
    soak_seconds: int = Field(
        60,
        ge=5,
        le=3600,
        description="Seconds of sustained BF16 GEMM per GPU in the burn-in (the median rate is compared).",
    )


class Taint(SpecModel):
    key: LabelKey = Field(description="Taint key (label key syntax).")
    value: LabelValue = Field("", description="Taint value (label value syntax).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field("NoSchedule", description="Effect.")


class GpuPoolSpec(SpecModel):
    name: str = Field(
        pattern=r"^[a-z]([a-z0-9-]{0,29}[a-z0-9])?$",
        description="Pool name; node label and resource prefix (lowercase letters, digits, '-'; at most 31).",
    )
    gpu: str = Field(description="GPU model, a key of the GPU catalog (e.g. h100-sxm-80gb).")
    instance_type: str = Field(
        description="Node type, a key of the node catalog: an EC2 instance type (aws) or a bare-metal system "
        "(dgx-h100, hgx-h200-8gpu, gb200-nvl72-tray)."
    )
    nodes: NodeCount = Field(description="Node count bounds.")
    capacity: CapacitySpec = Field(default_factory=CapacitySpec, description="Purchase option (aws).")
    availability_zone: str | None = Field(
        None,
        description="AZ of the pool (EFA pools live in one AZ; default: the first of network.availabilityZones).",
    )
    local_nvme: LocalNvmeSpec | None = Field(
        None, description="Local NVMe RAID0 for KV-cache spill and model staging; absent = not used."
    )
    node_names: UniqueList[DnsSubdomain] = Field(
        default_factory=list, description="Existing clusters: the nodes of this pool, by name."
    )
    node_selector: Labels = Field(
        default_factory=dict, description="Existing clusters: a label selector that picks this pool's nodes."
    )
    labels: Labels = Field(default_factory=dict, description="Extra node labels.")
    taints: list[Taint] = Field(
        default_factory=list, description="Extra taints; nvidia.com/gpu=present:NoSchedule is always added."
    )
    mig: MigSpec = Field(default_factory=MigSpec, description="Multi-Instance GPU partitioning.")
    acceptance: AcceptanceSpec = Field(default_factory=AcceptanceSpec, description="Node burn-in and gating.")
    compute_domain: bool = Field(
        False, description="GB200 NVL72: create a DRA ComputeDomain (IMEX) spanning the pool's NVLink domain."
    )
    max_unavailable: int = Field(
        1, ge=1, le=MAX_NODES, description="Nodes updated at once during a rolling node update."
    )
    root_volume_gi: int = Field(
        500,
        ge=64,
        le=16384,
        description="Encrypted gp3 root volume per node, GiB (aws); holds the OS and, without localNvme, the "
        "container images (inference images are 10-30 GiB each).",
    )


class DriverSpec(SpecModel):
    enabled: bool | None = Field(
        None,
        description="Install the driver with the operator; default off on the EKS accelerated AMI (pre-installed),"
        " on for existing clusters.",
    )
    version: str = Field(
        "580.95.05",
        pattern=r"^\d{3}\.\d{2,3}(\.\d{2})?$",
        description="Driver version (branch = first field).",
    )
    use_host_mofed: bool = Field(False, description="driver.rdma.useHostMofed: MOFED installed on the host.")

    @property
    def branch(self) -> int:
        return int(self.version.split(".")[0])


class GpuOperatorSpec(SpecModel):
    version: str = Field(
        "v26.7.0",
        pattern=r"^v\d+\.\d+\.\d+$",
        description="GPU Operator chart version, vMAJOR.MINOR.PATCH (must be in the compatibility matrix).",
    )
    driver: DriverSpec = Field(default_factory=DriverSpec, description="NVIDIA driver.")
    toolkit: bool = Field(True, description="NVIDIA Container Toolkit.")
    device_plugin: bool = Field(True, description="NVIDIA device plugin.")
    dcgm_exporter: bool = Field(True, description="DCGM exporter for GPU metrics (and ServiceMonitor).")
    gds: bool = Field(False, description="GPUDirect Storage (nvidia-fs) — needs a GDS-capable filesystem.")
    gdrcopy: bool = Field(True, description="GDRCopy for low-latency GPU memory copies (NIXL, UCX).")
    rdma: bool | None = Field(
        None, description="GPUDirect RDMA (driver.rdma); default on when the fabric is infiniband or roce."
    )
    node_status_exporter: bool = Field(True, description="Node status exporter.")
    validator: bool = Field(True, description="Operator validator pods (CUDA and plugin validation).")
    cdi: bool = Field(True, description="Container Device Interface for GPU injection.")
