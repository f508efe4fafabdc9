"""Efficiency factors of the planner's roofline, per GPU: the fractions of datasheet peaks real kernels reach.

Each calibrated GPU has its own factors, fitted by bench/calibrate.py on that GPU (docs/calibration.md holds the
runs, hosts, commands and every ratio). A GPU with no calibration of its own borrows the factors of the GPU named in
`BORROWED` and the plan says so (`efficiency_source`); nothing is silently shared.

Tensor-parallel communication (`allreduce_latency_s`, `link_efficiency`) is fitted only from runs on several GPUs
joined by NCCL; until a GPU has such a run, its values are the planner's assumptions, and `comm_calibrated` is
False (docs/planner.md, "What is not calibrated").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Efficiency:
    """Fractions of datasheet peaks that real kernels reach; fitted by bench/calibrate.py."""

    prefill_compute: float = 0.60  # dense GEMMs + flash attention over long prompts, of dense BF16 tensor TFLOP/s
    decode_compute: float = 0.53  # skinny GEMMs of a decode step, of dense BF16 tensor TFLOP/s
    weights_bandwidth: float = 0.65  # streaming the weights once per step (GEMV/skinny GEMM), of HBM TB/s
    kv_bandwidth: float = 0.91  # streaming the KV cache in paged/flash decode attention, of HBM TB/s
    # FP8 (and FP4) GEMMs reach this share of their own peak relative to what BF16 GEMMs reach of theirs: the
    # compute factors above are multiplied by it for FP8 weights. 1.0 where no FP8 run was made.
    fp8_compute: float = 1.0
    # Fixed time per layer and forward pass that does not shrink with TP or batch: the ~15 kernels of a layer each
    # pay launch and ramp-up/tail time even when replayed from a CUDA graph. 0 where one shape at one TP cannot
    # separate it from the weight bandwidth (it is then folded into weights_bandwidth).
    layer_overhead_s: float = 0.0
    # All-reduce latency per call over NVLink and the share of the per-direction link bandwidth a ring all-reduce
    # reaches. Assumptions until `comm_calibrated` (a multi-GPU NCCL run fitted them).
    allreduce_latency_s: float = 8e-6
    link_efficiency: float = 0.7
    comm_calibrated: bool = False


# NVIDIA H200 (SXM, 141 GB), fitted 2026-11-29 on 374 points: 8 and 16 layers of Llama-3.3-70B and all 32 of
# Llama-3.1-8B, BF16 and FP8 weights, TP1/2/4 shards, on one GPU (docs/calibration.md). One GPU: the all-reduce
# factors remain the assumptions of the class defaults.
H200_SXM = Efficiency(
    prefill_compute=0.69,
    decode_compute=0.72,
    weights_bandwidth=0.85,
    kv_bandwidth=0.91,
    fp8_compute=0.74,
    layer_overhead_s=58e-6,
)

# NVIDIA H100 80GB HBM3 (SXM), fitted 2026-11-27 on Llama-3.1-8B (32 layers, BF16, TP1). One shape at one TP cannot
# separate a fixed per-layer time from the weight bandwidth, so the H100 takes the H200's `layer_overhead_s` and
# `fp8_compute` (the same Hopper chip, clocks, kernels and libraries; only HBM differs) and its own four factors
# were refitted with that overhead in place (docs/calibration.md, "H100 refit").
H100_SXM = Efficiency(
    prefill_compute=0.62,
    decode_compute=0.58,
    weights_bandwidth=0.89,
    kv_bandwidth=0.92,
    fp8_compute=0.74,
    layer_overhead_s=58e-6,
)

CALIBRATIONS: dict[str, Efficiency] = {"h100-sxm-80gb": H100_SXM, "h200-sxm-141gb": H200_SXM}

# GPUs without a run of their own, and whose factors they use against their own datasheet peaks until measured.
BORROWED: dict[str, str] = {
    "b200-180gb": "h100-sxm-80gb",
    "gb200": "h100-sxm-80gb",
    "l40s-48gb": "h100-sxm-80gb",
    "a100-sxm-80gb": "h100-sxm-80gb",
    "a100-sxm-40gb": "h100-sxm-80gb",
}


def efficiency_for(gpu_key: str) -> Efficiency:
    """The GPU's own fitted factors, else those it borrows (`BORROWED`), else the H100's."""
    if gpu_key in CALIBRATIONS:
        return CALIBRATIONS[gpu_key]
    return CALIBRATIONS[BORROWED.get(gpu_key, "h100-sxm-80gb")]


def efficiency_source(gpu_key: str) -> str:
    """Where a GPU's factors come from, for reports: its own calibration or the GPU it borrows from."""
    if gpu_key in CALIBRATIONS:
        return f"calibrated on {gpu_key}"
    return f"uncalibrated: borrows {BORROWED.get(gpu_key, 'h100-sxm-80gb')}'s factors"
