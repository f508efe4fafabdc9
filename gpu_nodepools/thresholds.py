"""Acceptance thresholds and the GPU facts the node suite checks, as data next to the GPU catalog.

A node passes the burn-in when each measured figure reaches a stated fraction of the GPU's datasheet peak
(`components/catalog/gpus.py`). The fractions are set below what a healthy part reaches and above what a degraded
one does; each carries its reason. Measurements behind them are in docs/acceptance.md.

This module is stdlib-only on purpose: the node suite imports it on GPU hosts that have no project dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog.gpus import GPUS, GpuModel

GEMM = "gemm_bf16_tflops"
HBM = "hbm_copy_tbps"
ALLREDUCE = "allreduce_busbw_gbps"
METRICS: tuple[str, ...] = (GEMM, HBM, ALLREDUCE)

# The name `nvidia-smi --query-gpu=name` (and torch.cuda.get_device_name) reports for each catalog GPU. The GPU
# Operator's `nvidia.com/gpu.product` label is this name with spaces replaced by dashes.
# Sources: nvidia-smi on an H100 80GB HBM3 (recorded in docs/acceptance.md); NVIDIA DCGM/GPU Operator docs and
# DGX user guides for the others.
SMI_NAMES: dict[str, tuple[str, ...]] = {
    "h100-sxm-80gb": ("NVIDIA H100 80GB HBM3",),
    "h200-sxm-141gb": ("NVIDIA H200",),
    "b200-180gb": ("NVIDIA B200",),
    "gb200": ("NVIDIA GB200",),
    "l40s-48gb": ("NVIDIA L40S",),
    "a100-sxm-80gb": ("NVIDIA A100-SXM4-80GB",),
    "a100-sxm-40gb": ("NVIDIA A100-SXM4-40GB",),
}

# NVLink links per GPU (datasheets: A100 12 x NVLink3; H100/H200 SXM 18 x NVLink4; B200/GB200 18 x NVLink5).
NVLINK_LINKS: dict[str, int] = {
    "h100-sxm-80gb": 18,
    "h200-sxm-141gb": 18,
    "b200-180gb": 18,
    "gb200": 18,
    "a100-sxm-80gb": 12,
    "a100-sxm-40gb": 12,
    "l40s-48gb": 0,
}

# GPUs with no NVLink talk over PCIe: unidirectional GB/s of their slot (L40S: PCIe Gen4 x16).
PCIE_GBPS: dict[str, float] = {"l40s-48gb": 32.0}


@dataclass(frozen=True)
class Fraction:
    value: float
    reason: str


DEFAULT_FRACTIONS: dict[str, Fraction] = {
    GEMM: Fraction(
        0.60,
        "cuBLAS reaches 75-81% of the dense BF16 datasheet peak on a large square GEMM on a healthy H100 SXM "
        "(798 of 989 TFLOP/s measured here); the peak assumes boost clock, so a power- or thermally-throttled "
        "GPU, a degraded clock or a wrong power cap shows as a drop. 0.60 leaves ~20% for part-to-part and "
        "sustained-clock variance and still catches a GPU running at two thirds of its speed.",
    ),
    HBM: Fraction(
        0.75,
        "a large device-to-device copy (bytes read + written) reaches ~90% of datasheet HBM bandwidth on a "
        "healthy Hopper GPU; under 75% points at a memory-clock or HBM problem, not at noise.",
    ),
    ALLREDUCE: Fraction(
        0.60,
        "NCCL all-reduce bus bandwidth without NVLink SHARP (NCCL_NVLS_ENABLE=0) reaches 70-80% of the per-GPU "
        "unidirectional NVLink bandwidth on NVSwitch systems; a down link, a GPU falling back to PCIe, or a "
        "fabric manager that did not finish shows as a fraction of that.",
    ),
}

# Per-GPU exceptions, each with its reason. Empty entries are not allowed: add only what measurements justify.
OVERRIDES: dict[tuple[str, str], Fraction] = {
    ("l40s-48gb", ALLREDUCE): Fraction(
        0.50,
        "PCIe peer traffic through the host bridge and CPU reaches about half of the slot's bandwidth.",
    ),
}


@dataclass(frozen=True)
class Threshold:
    metric: str
    unit: str
    peak: float
    fraction: float
    reason: str
    peak_source: str

    @property
    def minimum(self) -> float:
        return round(self.peak * self.fraction, 3)

    def as_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "peak": self.peak,
            "fraction": self.fraction,
            "min": self.minimum,
            "reason": self.reason,
            "peakSource": self.peak_source,
        }


def interconnect_gbps(gpu: GpuModel) -> tuple[float, str]:
    """Per-GPU unidirectional bandwidth to its peers: half the bidirectional NVLink figure, else the PCIe slot."""
    if gpu.nvlink_gbps > 0:
        return gpu.nvlink_gbps / 2, f"{gpu.source}: NVLink {gpu.nvlink_gbps:g} GB/s bidirectional / 2"
    if gpu.key in PCIE_GBPS:
        return PCIE_GBPS[gpu.key], f"PCIe slot of {gpu.name}: {PCIE_GBPS[gpu.key]:g} GB/s unidirectional"
    raise KeyError(f"GPU {gpu.key!r} has neither NVLink nor a PCIe entry in gpu_nodepools/thresholds.py")


def fraction_for(gpu_key: str, metric: str) -> Fraction:
    return OVERRIDES.get((gpu_key, metric), DEFAULT_FRACTIONS[metric])


def thresholds_for(gpu_key: str) -> dict[str, Threshold]:
    """The pass line of every burn-in metric for one catalog GPU."""
    gpu = GPUS.get(gpu_key)
    if gpu is None:
        raise KeyError(f"unknown GPU {gpu_key!r}; known: {sorted(GPUS)}")
    link, link_source = interconnect_gbps(gpu)
    peaks = {
        GEMM: ("TFLOP/s", gpu.bf16_tflops, f"{gpu.source}: dense BF16"),
        HBM: ("TB/s", gpu.hbm_tbps, f"{gpu.source}: HBM bandwidth"),
        ALLREDUCE: ("GB/s", link, link_source),
    }
    out = {}
    for metric, (unit, peak, source) in peaks.items():
        frac = fraction_for(gpu_key, metric)
        out[metric] = Threshold(metric, unit, float(peak), frac.value, frac.reason, source)
    return out


def thresholds_document(gpu_key: str, gpus: int | None = None) -> dict[str, object]:
    """The JSON the burn-in reads (`burnin.py --thresholds FILE`): GPU identity, expected count, pass lines."""
    return {
        "schema": "inference-ra.acceptance.thresholds/v1",
        "gpu": gpu_key,
        "gpuName": GPUS[gpu_key].name,
        "smiNames": list(SMI_NAMES.get(gpu_key, ())),
        "expectGpus": gpus,
        "metrics": {m: t.as_dict() for m, t in thresholds_for(gpu_key).items()},
    }
