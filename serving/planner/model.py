"""The planner's performance model: memory per replica and a calibrated roofline for prefill and decode.

Pure functions over catalog data (Architecture, GpuModel). Every time is in seconds, every size in bytes.

Roofline: a pass over the model is bound by streaming bytes from HBM (weights once per pass, KV cache of every
sequence in the batch) or by tensor-core arithmetic. Real kernels overlap the two imperfectly, so the planner
combines them as a smooth roofline, `t = sqrt(t_memory^2 + t_compute^2)`: it equals the larger term when one
dominates and adds up to 41% where both are equal, which is what the H100 calibration measured (docs/calibration.md).
Each layer adds a fixed time that neither TP nor batch shrinks (kernel launch and tails, measured on the H200), and
TP groups add their all-reduces. Parallelism beyond TP (`Parallel`): data parallelism (DP ranks, each with its own
sequences and KV cache; for MoE the attention is data-parallel and the experts are sharded over every GPU of the
replica), pipeline parallelism (stages of layers/pp, decode batches split into pp micro-batches) and expert
parallelism (experts sharded, tokens dispatched and combined by all-to-all). Rates are the catalog's datasheet
peaks times the GPU's own efficiency factors (serving/planner/efficiency.py), fitted on real H100 and H200 GPUs;
FP8 GEMMs run at the FP8 peak, attention at the BF16 peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.catalog import Architecture, GpuModel
from components.catalog.models import DTYPE_BYTES
from serving.planner.efficiency import H100_SXM, Efficiency
from serving.planner.efficiency import efficiency_for as efficiency_for
from serving.planner.efficiency import efficiency_source as efficiency_source

# Fitted on an NVIDIA H100 80GB HBM3 (SXM), 2026-11-27; the default where no GPU is named (tests, bench).
CALIBRATED = H100_SXM

ACTIVATION_RESERVE_FRACTION = 0.05  # HBM per GPU kept for activations, CUDA graphs and the allocator's slack


@dataclass(frozen=True)
class Parallel:
    """How one replica spreads over its GPUs: tp x pp x dp GPUs (the spec's WorkerSpec.gpus_per_replica).

    tp: tensor parallelism inside a DP rank (and each pipeline stage); pp: pipeline stages of layers / pp layers;
    dp: data-parallel ranks, each serving its own sequences with its own KV cache (vLLM --data-parallel-size;
    SGLang/TensorRT-LLM attention DP); for MoE the experts are sharded over all tp x pp x dp GPUs; ep: experts are
    placed whole on GPUs and tokens move to them by all-to-all (--enable-expert-parallel, --ep-size).
    """

    tp: int = 1
    pp: int = 1
    dp: int = 1
    ep: bool = False

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.dp

    @property
    def rank_gpus(self) -> int:
        """GPUs of one DP rank (tp x pp): what holds one sequence's weights and KV."""
        return self.tp * self.pp

    def label(self) -> str:
        parts = [f"TP{self.tp}"]
        if self.pp > 1:
            parts.append(f"PP{self.pp}")
        if self.dp > 1:
            parts.append(f"DP{self.dp}")
        if self.ep:
            parts.append("EP")
        return " ".join(parts)


def as_parallel(p: int | Parallel) -> Parallel:
    return p if isinstance(p, Parallel) else Parallel(tp=p)


def weights_bytes(arch: Architecture, dtype: str) -> int:
    """Bytes of all weights in `dtype` (what must sit in HBM across a replica with no data parallelism)."""
    return arch.weights_bytes(dtype)


def kv_bytes_per_token(arch: Architecture, kv_dtype: str) -> int:
    """KV-cache bytes one token occupies across all layers: 2 x layers x kv_heads x head_dim x bytes (GQA)."""
    return arch.kv_bytes_per_token(kv_dtype)


def kv_replication(arch: Architecture, tp: int) -> int:
    """How many GPUs of a TP group hold a copy of each KV head: TP beyond the KV heads replicates them; MLA's
    latent cache is replicated on every TP rank (attention data parallelism, `Parallel.dp`, avoids that: each DP
    rank's attention has its own TP)."""
    if arch.uses_mla:
        return tp
    return max(1, tp // arch.kv_heads)


def _embedding_params(arch: Architecture) -> float:
    return float(arch.vocab_size * arch.hidden_size)


def expert_params(arch: Architecture) -> tuple[float, float]:
    """(one routed expert's parameters, all routed experts' parameters); (0, 0) for a dense model. From the
    catalog's totals: per_expert = (total - active) / (E - k)."""
    return arch.expert_params()


def weights_per_gpu_bytes(arch: Architecture, dtype: str, par: int | Parallel) -> float:
    """Weight bytes on each GPU of a replica: the non-expert part is sharded over a DP rank's tp x pp GPUs (and
    replicated on every DP rank), the routed experts over all tp x pp x dp GPUs."""
    p = as_parallel(par)
    return arch.weights_bytes_per_gpu(dtype, p.tp, p.pp, p.dp)


def streamed_weight_bytes(arch: Architecture, dtype: str, batch: float) -> float:
    """Weight bytes one forward pass reads: everything but the embedding table (a gather of a few rows).

    MoE: the shared part plus the experts the batch touches; with E experts, k per token and B tokens, a layer
    touches E x (1 - (1 - k/E)^B) distinct experts in expectation (uniform routing). Expert and shared sizes
    come from the catalog's totals: per_expert = (total - active) / (E - k), shared = active - k x per_expert.
    """
    shared, experts = _streamed_split(arch, dtype, batch)
    return shared + experts


def _streamed_split(arch: Architecture, dtype: str, expert_tokens: float) -> tuple[float, float]:
    """(non-expert bytes, routed-expert bytes) one forward pass reads; experts touched by `expert_tokens`."""
    b = DTYPE_BYTES[dtype]
    if not arch.is_moe:
        return (arch.params_b * 1e9 - _embedding_params(arch)) * b, 0.0
    e, k = arch.experts, arch.experts_per_token
    per_expert, _ = expert_params(arch)
    shared = arch.active_params_b * 1e9 - k * per_expert - _embedding_params(arch)
    touched = e * (1 - (1 - k / e) ** max(expert_tokens, 1.0))
    return shared * b, touched * per_expert * b


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


def _link_bytes_per_s(gpu: GpuModel, eff: Efficiency) -> float:
    """Per-direction NVLink bandwidth a collective reaches (PCIe Gen5 x16 where the GPU has no NVLink)."""
    return gpu.nvlink_gbps / 2 * 1e9 * eff.link_efficiency if gpu.nvlink_gbps else 25e9


def allreduce_time(gpu: GpuModel, tp: int, tokens: float, arch: Architecture, eff: Efficiency) -> float:
    """Two all-reduces per layer (after attention and after the MLP) of tokens x hidden BF16 activations."""
    if tp <= 1:
        return 0.0
    payload = tokens * arch.hidden_size * 2
    per_call = eff.allreduce_latency_s + 2 * (tp - 1) / tp * payload / _link_bytes_per_s(gpu, eff)
    return 2 * arch.layers * per_call


def alltoall_time(
    gpu: GpuModel, p: Parallel, tokens: float, arch: Architecture, eff: Efficiency, network_gbps_per_gpu: float
) -> float:
    """MoE dispatch and combine per layer when the experts are sharded over the DP ranks or placed by EP: each GPU
    sends its share of the tokens (tokens / tp of its DP rank) to k experts and gets them back, BF16. Over NVLink
    within the NVLink domain, else over the GPU's share of the node's network. Not calibrated (docs/planner.md)."""
    if not arch.is_moe or p.gpus <= 1 or not (p.ep or p.dp > 1):
        return 0.0
    link = _link_bytes_per_s(gpu, eff) if p.gpus <= gpu.nvlink_domain else network_gbps_per_gpu / 8 * 1e9
    payload = tokens / p.tp * arch.experts_per_token * arch.hidden_size * 2
    return 2 * arch.layers * (eff.allreduce_latency_s + payload / link)


def pipeline_hops_time(
    gpu: GpuModel, p: Parallel, tokens: float, arch: Architecture, eff: Efficiency, network_gbps_per_gpu: float
) -> float:
    """pp - 1 hand-offs of the activations (tokens x hidden, BF16) between stages per pass; between nodes over the
    network when a replica's DP rank spans more GPUs than the NVLink domain. Bubbles are not modelled."""
    if p.pp <= 1:
        return 0.0
    link = _link_bytes_per_s(gpu, eff) if p.rank_gpus <= gpu.nvlink_domain else network_gbps_per_gpu / 8 * 1e9
    return (p.pp - 1) * (eff.allreduce_latency_s + tokens * arch.hidden_size * 2 / link)


def step_time(
    arch: Architecture,
    gpu: GpuModel,
    tp: int | Parallel,
    weights_dtype: str,
    kv_dtype: str,
    *,
    batch: float = 0.0,
    context: float = 0.0,
    chunk: float = 0.0,
    chunk_context: float = 0.0,
    eff: Efficiency = CALIBRATED,
    expert_tokens: float | None = None,
    network_gbps_per_gpu: float = 400.0,
) -> float:
    """One forward pass of one DP rank (a TP group, or the stages of a pipeline one after another): `batch`
    decoding sequences (one token each, attending to `context` cached tokens) plus a prefill chunk of `chunk` prompt
    tokens attending to `chunk_context` tokens on average. `batch` and `chunk` are what one micro-batch of this DP
    rank carries; `expert_tokens` are the tokens the MoE experts see (default: every DP rank equally loaded).

    Memory: the weights once (MoE: the experts the tokens touch, sharded over all the replica's GPUs), the decode
    sequences' KV. Compute: 2 x active parameters per token, attention 4 x context x width per token and layer;
    decode GEMMs and prefill GEMMs at their own efficiency. A pure prefill of S tokens is `chunk=S,
    chunk_context=S/2` (causal). Pipeline stages run one after another, so a pass costs the whole model's time
    at TP plus the hand-offs; the per-layer overhead is paid on every layer.
    """
    p = as_parallel(tp)
    bw = gpu.hbm_tbps * 1e12
    tokens = batch + chunk
    routed = tokens * p.dp if expert_tokens is None else expert_tokens
    shared_bytes, expert_bytes = _streamed_split(arch, weights_dtype, routed)
    expert_shards = p.tp * p.dp if arch.is_moe else p.tp
    kv_read = batch * context * kv_bytes_per_token(arch, kv_dtype) * kv_replication(arch, p.tp)
    t_memory = (shared_bytes / p.tp + expert_bytes / expert_shards) / (bw * eff.weights_bandwidth) + kv_read / (
        p.tp * bw * eff.kv_bandwidth
    )
    cdt = compute_dtype(weights_dtype)
    gemm_peak = gpu.tflops(cdt) * 1e12 * (eff.fp8_compute if cdt != "bf16" else 1.0)
    attn_peak = gpu.tflops("bf16") * 1e12  # flash attention runs in BF16 whatever the weights' dtype
    attn = 4 * attention_width(arch) * arch.layers
    per_expert, _ = expert_params(arch)
    expert_flops = 2 * arch.experts_per_token * per_expert  # per token (0 for dense)
    shared_flops = matmul_flops_per_token(arch) - expert_flops
    share = chunk / tokens if tokens else 0.0  # prefill tokens' share of the expert work (their efficiency)
    gemm_time = (shared_flops * batch / eff.decode_compute + shared_flops * chunk / eff.prefill_compute) / p.tp + (
        expert_flops * routed * ((1 - share) / eff.decode_compute + share / eff.prefill_compute)
    ) / expert_shards
    attn_time = (
        attn * batch * context / eff.decode_compute + attn * chunk * chunk_context / eff.prefill_compute
    ) / p.tp
    t_compute = gemm_time / gemm_peak + attn_time / attn_peak
    overhead = arch.layers * eff.layer_overhead_s
    comm = (
        allreduce_time(gpu, p.tp, tokens, arch, eff)
        + alltoall_time(gpu, p, tokens, arch, eff, network_gbps_per_gpu)
        + pipeline_hops_time(gpu, p, tokens, arch, eff, network_gbps_per_gpu)
    )
    return smooth_roofline(t_memory, t_compute) + overhead + comm


def prefill_time(
    arch: Architecture,
    gpu: GpuModel,
    tokens: int,
    tp: int | Parallel,
    weights_dtype: str,
    eff: Efficiency = CALIBRATED,
    network_gbps_per_gpu: float = 400.0,
) -> float:
    """One prefill of a `tokens`-long prompt on one DP rank: GEMMs 2·P·S, causal attention 2·layers·S²·width.
    The experts see only this prompt's tokens (data parallelism does not speed up one prompt)."""
    return step_time(
        arch,
        gpu,
        tp,
        weights_dtype,
        "bf16",
        chunk=tokens,
        chunk_context=tokens / 2,
        eff=eff,
        expert_tokens=tokens,
        network_gbps_per_gpu=network_gbps_per_gpu,
    )


def decode_step_time(
    arch: Architecture,
    gpu: GpuModel,
    batch: float,
    context: float,
    tp: int | Parallel,
    weights_dtype: str,
    kv_dtype: str,
    eff: Efficiency = CALIBRATED,
    network_gbps_per_gpu: float = 400.0,
) -> float:
    """Inter-token latency of a replica decoding `batch` sequences (each adds a token attending to `context`
    cached tokens): the batch spreads over the DP ranks, each rank's share over `pp` micro-batches in flight."""
    p = as_parallel(tp)
    per_pass = batch / (p.dp * p.pp)
    return step_time(
        arch,
        gpu,
        p,
        weights_dtype,
        kv_dtype,
        batch=per_pass,
        context=context,
        eff=eff,
        network_gbps_per_gpu=network_gbps_per_gpu,
    )


def rank_kv_capacity_tokens(
    arch: Architecture,
    gpu: GpuModel,
    tp: int | Parallel,
    weights_dtype: str,
    kv_dtype: str,
    gpu_memory_utilization: float = 0.9,
) -> int:
    """Tokens of KV cache one DP rank (tp x pp GPUs) holds in HBM after weights and activations; 0 if the weights
    do not fit. One sequence must fit one DP rank."""
    p = as_parallel(tp)
    usable = gpu.hbm_bytes * (gpu_memory_utilization - ACTIVATION_RESERVE_FRACTION)
    free = (usable - weights_per_gpu_bytes(arch, weights_dtype, p)) * p.rank_gpus
    if free <= 0:
        return 0
    return int(free // (kv_bytes_per_token(arch, kv_dtype) * kv_replication(arch, p.tp)))


def kv_capacity_tokens(
    arch: Architecture,
    gpu: GpuModel,
    tp: int | Parallel,
    weights_dtype: str,
    kv_dtype: str,
    gpu_memory_utilization: float = 0.9,
) -> int:
    """Tokens of KV cache one replica (all its DP ranks) holds in HBM (G1) after weights and activations; 0 if the
    weights do not fit."""
    p = as_parallel(tp)
    return p.dp * rank_kv_capacity_tokens(arch, gpu, p, weights_dtype, kv_dtype, gpu_memory_utilization)
