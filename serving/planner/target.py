"""What the planner plans for: the workload, the target (model, precisions, GPU, node) and a deployment of replicas
shaped by tensor, pipeline, data and expert parallelism (`model.Parallel`). Data only, plus the Target's bridges to
the performance model (serving/planner/model.py) with the GPU's own efficiency factors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.catalog import Architecture, GpuModel, NodeType
from components.catalog.prices import DEFAULT_PRICES, PriceBook
from serving.planner import model as m

Mode = Literal["aggregated", "disaggregated"]
KV_TRANSFER_EFFICIENCY = 0.8  # of the per-GPU RDMA line rate that NIXL reaches for large KV blocks


class PlannerInputError(ValueError):
    """Inputs the planner cannot work with; the message names the input and what is allowed."""


@dataclass(frozen=True)
class Workload:
    isl: int
    osl: int
    ttft_ms: float
    itl_ms: float
    rps: float | None = None
    concurrency: int | None = None
    kv_reuse_window_s: float = 300.0  # how long finished conversations' KV stays worth keeping (G2/G3 sizing)
    cold_start_s: float = 300.0  # target to load weights into a new replica

    def __post_init__(self) -> None:
        if (self.rps is None) == (self.concurrency is None):
            raise PlannerInputError("give exactly one of rps or concurrency")
        for name in ("isl", "osl", "ttft_ms", "itl_ms"):
            if not getattr(self, name) > 0:
                raise PlannerInputError(f"{name} must be > 0 (got {getattr(self, name)})")
        if self.rps is not None and not self.rps > 0:
            raise PlannerInputError(f"rps must be > 0 (got {self.rps})")
        if self.concurrency is not None and self.concurrency < 1:
            raise PlannerInputError(f"concurrency must be >= 1 (got {self.concurrency})")


@dataclass(frozen=True)
class Target:
    """What runs the model: architecture and precisions, GPU, node type (GPUs per node, RAM, NVMe, price)."""

    arch: Architecture
    gpu: GpuModel
    node: NodeType | None = None
    weights_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    gpu_memory_utilization: float = 0.9
    prices: PriceBook = DEFAULT_PRICES
    eff: m.Efficiency | None = None  # None: the GPU's own calibrated factors (serving/planner/efficiency.py)

    def __post_init__(self) -> None:
        if self.eff is None:
            object.__setattr__(self, "eff", m.efficiency_for(self.gpu.key))

    @property
    def efficiency(self) -> m.Efficiency:
        assert self.eff is not None
        return self.eff

    @property
    def gpus_per_node(self) -> int:
        return self.node.gpus if self.node else self.gpu.nvlink_domain

    @property
    def network_gbps_per_gpu(self) -> float:
        """The GPU's share of its node's scale-out network, Gb/s (400 where no node type is known)."""
        return self.node.network_gbps / self.node.gpus if self.node else 400.0

    @property
    def gpu_limit(self) -> int:
        """GPUs one DP rank may span on NVLink: a node, or the NVLink domain where it spans nodes (GB200 NVL72)."""
        return max(self.gpus_per_node, min(self.gpu.nvlink_domain, 64))

    def tp_choices(self) -> list[int]:
        """Powers of two up to a node, or up to the NVLink domain where it spans nodes (GB200 NVL72)."""
        return [2**i for i in range(7) if 2**i <= self.gpu_limit]

    def shapes(self, w: Workload | None = None) -> list[m.Parallel]:
        """The replica shapes the search tries: tensor parallelism alone; for MoE models also attention data
        parallelism with the experts spread by EP (TP1 x DP n, as SGLang's and TensorRT-LLM's DeepSeek recipes run
        it); and where no shape on NVLink holds one sequence, pipeline stages of a full node over 2 or 4 nodes
        (TP within the node, PP between nodes)."""
        out = [m.Parallel(tp=tp) for tp in self.tp_choices()]
        if self.arch.is_moe:
            out += [m.Parallel(tp=1, dp=n, ep=True) for n in self.tp_choices() if n > 1]
        need = (w.isl + w.osl) if w is not None else 1
        if not any(self.rank_kv_capacity(p) >= need for p in out):
            out += [m.Parallel(tp=self.gpus_per_node, pp=pp) for pp in (2, 4)]
        return out

    def kv_capacity(self, p: int | m.Parallel) -> int:
        return m.kv_capacity_tokens(
            self.arch, self.gpu, p, self.weights_dtype, self.kv_dtype, self.gpu_memory_utilization
        )

    def rank_kv_capacity(self, p: int | m.Parallel) -> int:
        return m.rank_kv_capacity_tokens(
            self.arch, self.gpu, p, self.weights_dtype, self.kv_dtype, self.gpu_memory_utilization
        )

    def max_concurrency(self, p: int | m.Parallel, seq_tokens: int) -> int:
        """Sequences of `seq_tokens` one replica holds: each DP rank holds whole sequences."""
        return m.as_parallel(p).dp * (self.rank_kv_capacity(p) // seq_tokens)

    def prefill(self, tokens: int, p: int | m.Parallel) -> float:
        return m.prefill_time(
            self.arch, self.gpu, tokens, p, self.weights_dtype, self.efficiency, self.network_gbps_per_gpu
        )

    def step(self, batch: float, context: float, p: int | m.Parallel) -> float:
        """Inter-token latency of a replica decoding `batch` sequences in all."""
        return m.decode_step_time(
            self.arch,
            self.gpu,
            batch,
            context,
            p,
            self.weights_dtype,
            self.kv_dtype,
            self.efficiency,
            self.network_gbps_per_gpu,
        )

    def pass_time(self, batch: float, context: float, chunk: float, chunk_context: float, p: int | m.Parallel) -> float:
        """One pass of one DP rank's micro-batch: `batch` decoding sequences and a `chunk` of prompt tokens."""
        return m.step_time(
            self.arch,
            self.gpu,
            p,
            self.weights_dtype,
            self.kv_dtype,
            batch=batch,
            context=context,
            chunk=chunk,
            chunk_context=chunk_context,
            eff=self.efficiency,
            network_gbps_per_gpu=self.network_gbps_per_gpu,
        )

    def mixed_step(
        self, batch: float, context: float, chunk: float, chunk_context: float, p: int | m.Parallel
    ) -> float:
        """Inter-token latency of a replica carrying `batch` decoding sequences and `chunk` prompt tokens per step
        in all, spread over its DP ranks and pipeline micro-batches."""
        q = m.as_parallel(p)
        passes = q.dp * q.pp
        return self.pass_time(batch / passes, context, chunk / passes, chunk_context, q)

    def kv_transfer(self, tokens: int, prefill: int | m.Parallel, decode: int | m.Parallel) -> float:
        """A prompt's KV from a prefill DP rank to a decode DP rank over the GPUs' share of the network (the GPUs of
        the smaller of the two ranks send in parallel)."""
        per_gpu = self.network_gbps_per_gpu / 8 * 1e9
        lanes = min(m.as_parallel(prefill).rank_gpus, m.as_parallel(decode).rank_gpus)
        return tokens * m.kv_bytes_per_token(self.arch, self.kv_dtype) / (per_gpu * lanes * KV_TRANSFER_EFFICIENCY)


@dataclass(frozen=True)
class Deployment:
    """Replicas of one shape (aggregated workers, or decode workers) plus, disaggregated, prefill replicas.
    `tp`, `pp`, `dp`, `ep` shape a replica as `m.Parallel`; a replica takes tp x pp x dp GPUs."""

    mode: Mode
    tp: int  # aggregated worker, or decode worker
    replicas: int
    prefill_tp: int = 0
    prefill_replicas: int = 0
    pp: int = 1
    dp: int = 1
    ep: bool = False
    prefill_pp: int = 1
    prefill_dp: int = 1
    prefill_ep: bool = False

    @classmethod
    def of(
        cls,
        mode: Mode,
        par: m.Parallel,
        replicas: int,
        prefill: m.Parallel | None = None,
        prefill_replicas: int = 0,
    ) -> Deployment:
        p = prefill or m.Parallel(tp=0)
        return cls(mode, par.tp, replicas, p.tp, prefill_replicas, par.pp, par.dp, par.ep, p.pp, p.dp, p.ep)

    @property
    def par(self) -> m.Parallel:
        return m.Parallel(self.tp, self.pp, self.dp, self.ep)

    @property
    def prefill_par(self) -> m.Parallel:
        return m.Parallel(self.prefill_tp, self.prefill_pp, self.prefill_dp, self.prefill_ep)

    @property
    def gpus(self) -> int:
        return self.par.gpus * self.replicas + self.prefill_par.gpus * self.prefill_replicas

    def describe(self) -> str:
        if self.mode == "aggregated":
            return f"aggregated, {self.replicas} x {self.par.label()}"
        return (
            f"disaggregated, {self.prefill_replicas} prefill x {self.prefill_par.label()} + {self.replicas} decode x "
            f"{self.par.label()}"
        )
