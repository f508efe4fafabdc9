"""The planner's performance model: memory per replica and a calibrated roofline for prefill and decode.

Pure functions over catalog data (Architecture, GpuModel). Every time is in seconds, every size in bytes.

Roofline: a pass over the model is bound by streaming bytes from HBM (weights once per pass, KV cache of every
sequence in the batch) or by tensor-core arithmetic. Real kernels overlap the two imperfectly, so the planner
combines them as a smooth roofline, `t = sqrt(t_memory^2 + t_compute^2)`: it equals the larger term when one
dominates and adds up to 41% where both are equal, which is what the H100 calibration measured (docs/calibration.md).
Each layer adds a fixed time that neither TP nor batch shrinks (kernel launch and tails, measured on the H200), and
TP groups add their all-reduces. Rates are the catalog's datasheet peaks times the GPU's own efficiency factors
(serving/planner/efficiency.py), fitted on real H100 and H200 GPUs; FP8 GEMMs run at the FP8 peak, attention at
the BF16 peak.
"""

from __future__ import annotations

import math

from components.catalog import Architecture, GpuModel
from components.catalog.models import DTYPE_BYTES
from serving.planner.efficiency import H100_SXM, Efficiency
from serving.planner.efficiency import efficiency_for as efficiency_for
from serving.planner.efficiency import efficiency_source as efficiency_source

# Fitted on an NVIDIA H100 80GB HBM3 (SXM), 2026-11-27; the default where no GPU is named (tests, bench).
CALIBRATED = H100_SXM

ACTIVATION_RESERVE_FRACTION = 0.05  # HBM per GPU kept for activations, CUDA graphs and the allocator's slack


def weights_bytes(arch: Architecture, dtype: str) -> int:
    """Bytes of all weights in `dtype` (what must sit in HBM across a replica)."""
    return arch.weights_bytes(dtype)


def kv_bytes_per_token(arch: Architecture, kv_dtype: str) -> int:
    """KV-cache bytes one token occupies across all layers: 2 x layers x kv_heads x head_dim x bytes (GQA)."""
    return arch.kv_bytes_per_token(kv_dtype)


def kv_replication(arch: Architecture, tp: int) -> int:
    """How many GPUs of a TP group hold a copy of each KV head: TP beyond the KV heads replicates them; MLA's
    latent cache is replicated on every rank (no attention data parallelism assumed)."""
    if arch.uses_mla:
        return tp
    return max(1, tp // arch.kv_heads)


def _embedding_params(arch: Architecture) -> float:
    return float(arch.vocab_size * arch.hidden_size)


def streamed_weight_bytes(arch: Architecture, dtype: str, batch: float) -> float:
    """Weight bytes one forward pass reads: everything but the embedding table (a gather of a few rows).

    MoE: the shared part plus the experts the batch touches; with E experts, k per token and B tokens, a layer
    touches E x (1 - (1 - k/E)^B) distinct experts in expectation (uniform routing). Expert and shared sizes
    come from the catalog's totals: per_expert = (total - active) / (E - k), shared = active - k x per_expert.
    """
    b = DTYPE_BYTES[dtype]
    if not arch.is_moe:
        return (arch.params_b * 1e9 - _embedding_params(arch)) * b
    e, k = arch.experts, arch.experts_per_token
    per_expert = (arch.params_b - arch.active_params_b) * 1e9 / (e - k)
    shared = arch.active_params_b * 1e9 - k * per_expert - _embedding_params(arch)
    touched = e * (1 - (1 - k / e) ** max(batch, 1.0))
    return (shared + touched * per_expert) * b


def matmul_flops_per_token(arch: Architecture) -> float:
    """2 x active parameters (one multiply-add each), without the embedding gather."""
    return 2 * (arch.active_params_b * 1e9 - _embedding_params(arch))


def attention_width(arch: Architecture) -> int:
    return arch.attention_heads * arch.head_dim


def compute_dtype(weights_dtype: str) -> str:
    """The tensor-core dtype of the GEMMs: FP8/FP4 checkpoints run FP8/FP4 GEMMs, everything else BF16."""
    return {"fp8": "fp8", "nvfp4": "fp4", "mxfp4": "fp4"}.get(weights_dtype, "bf16")


def smooth_roofline(t_memory: float, t_compute: float) -> float:
    return math.hypot(t_memory, t_compute)


def allreduce_time(gpu: GpuModel, tp: int, tokens: float, arch: Architecture, eff: Efficiency) -> float:
    """Two all-reduces per layer (after attention and after the MLP) of tokens x hidden BF16 activations."""
    if tp <= 1:
        return 0.0
    link = gpu.nvlink_gbps / 2 * 1e9 * eff.link_efficiency if gpu.nvlink_gbps else 25e9  # PCIe Gen5 x16
    payload = tokens * arch.hidden_size * 2
    per_call = eff.allreduce_latency_s + 2 * (tp - 1) / tp * payload / link
    return 2 * arch.layers * per_call


def step_time(
    arch: Architecture,
    gpu: GpuModel,
    tp: int,
    weights_dtype: str,
    kv_dtype: str,
    *,
    batch: float = 0.0,
    context: float = 0.0,
    chunk: float = 0.0,
    chunk_context: float = 0.0,
    eff: Efficiency = CALIBRATED,
) -> float:
    """One forward pass of a TP group: `batch` decoding sequences (one token each, attending to `context` cached
    tokens) plus a prefill chunk of `chunk` prompt tokens attending to `chunk_context` tokens on average.

    Memory: the weights once (MoE: the experts the tokens touch), the decode sequences' KV. Compute: 2 x active
    parameters per token, attention 4 x context x width per token and layer; decode GEMMs and prefill GEMMs at
    their own efficiency. A pure prefill of S tokens is `chunk=S, chunk_context=S/2` (causal).
    """
    bw = gpu.hbm_tbps * 1e12
    tokens = batch + chunk
    kv_read = batch * context * kv_bytes_per_token(arch, kv_dtype) * kv_replication(arch, tp)
    t_memory = (
        streamed_weight_bytes(arch, weights_dtype, tokens) / (bw * eff.weights_bandwidth)
        + kv_read / (bw * eff.kv_bandwidth)
    ) / tp
    cdt = compute_dtype(weights_dtype)
    gemm_peak = gpu.tflops(cdt) * 1e12 * (eff.fp8_compute if cdt != "bf16" else 1.0)
    attn_peak = gpu.tflops("bf16") * 1e12  # flash attention runs in BF16 whatever the weights' dtype
    attn = 4 * attention_width(arch) * arch.layers
    gemm = matmul_flops_per_token(arch)
    t_compute = (
        (gemm * batch / eff.decode_compute + gemm * chunk / eff.prefill_compute) / gemm_peak
        + (attn * batch * context / eff.decode_compute + attn * chunk * chunk_context / eff.prefill_compute) / attn_peak
    ) / tp
    overhead = arch.layers * eff.layer_overhead_s
    return smooth_roofline(t_memory, t_compute) + overhead + allreduce_time(gpu, tp, tokens, arch, eff)


def prefill_time(
    arch: Architecture,
    gpu: GpuModel,
    tokens: int,
    tp: int,
    weights_dtype: str,
    eff: Efficiency = CALIBRATED,
) -> float:
    """One prefill of a `tokens`-long prompt on a TP group: GEMMs 2·P·S, causal attention 2·layers·S²·width."""
    return step_time(arch, gpu, tp, weights_dtype, "bf16", chunk=tokens, chunk_context=tokens / 2, eff=eff)


def decode_step_time(
    arch: Architecture,
    gpu: GpuModel,
    batch: float,
    context: float,
    tp: int,
    weights_dtype: str,
    kv_dtype: str,
    eff: Efficiency = CALIBRATED,
) -> float:
    """One decode step: every sequence of `batch` adds a token attending to `context` cached tokens."""
    return step_time(arch, gpu, tp, weights_dtype, kv_dtype, batch=batch, context=context, eff=eff)


def kv_capacity_tokens(
    arch: Architecture,
    gpu: GpuModel,
    tp: int,
    weights_dtype: str,
    kv_dtype: str,
    gpu_memory_utilization: float = 0.9,
) -> int:
    """Tokens of KV cache one replica of `tp` GPUs holds in HBM (G1) after weights and activations; 0 if the
    weights do not fit."""
    usable = gpu.hbm_bytes * (gpu_memory_utilization - ACTIVATION_RESERVE_FRACTION) * tp
    free = usable - weights_bytes(arch, weights_dtype)
    if free <= 0:
        return 0
    return int(free // (kv_bytes_per_token(arch, kv_dtype) * kv_replication(arch, tp)))
