"""The `inference-ra size` verb's logic: check the inputs against the catalogs, plan, summarize.

Every bad input raises ValueError with a message naming the flag, the value and what is allowed; the CLI turns
it into exit 2. An SLO no deployment can meet is also reported this way, with the binding constraint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from components.catalog import ARCHITECTURES, GPUS, NODE_TYPES, NodeType
from components.catalog.models import DTYPE_BYTES
from serving.planner.search import PlannerInputError, Target, Workload, default_node_type, plan
from serving.planner.summary import summarize

WEIGHT_DTYPES = ("bf16", "fp16", "fp8", "nvfp4", "mxfp4")
KV_DTYPES = ("bf16", "fp16", "fp8")
MODES = ("auto", "aggregated", "disaggregated")


@dataclass(frozen=True)
class SizeArgs:
    model: str
    gpu: str
    isl: int
    osl: int
    ttft_ms: float
    itl_ms: float
    rps: float | None
    concurrency: int | None
    weights_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    node_type: str | None = None
    mode: str = "auto"
    cold_start_s: float = 300


def _one_of(flag: str, value: str, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{flag} {value!r} is not known; use one of: {', '.join(allowed)}")


def run_size(a: SizeArgs) -> dict[str, Any]:
    _one_of("--model", a.model, sorted(ARCHITECTURES))
    _one_of("--gpu", a.gpu, sorted(GPUS))
    _one_of("--weights-dtype", a.weights_dtype, WEIGHT_DTYPES)
    _one_of("--kv-dtype", a.kv_dtype, KV_DTYPES)
    _one_of("--mode", a.mode, MODES)
    assert set(WEIGHT_DTYPES) <= set(DTYPE_BYTES)
    gpu = GPUS[a.gpu]
    node: NodeType | None
    if a.node_type is not None:
        _one_of("--node-type", a.node_type, sorted(NODE_TYPES))
        node = NODE_TYPES[a.node_type]
        if node.gpu != a.gpu:
            raise ValueError(f"--node-type {a.node_type} has {node.gpus}x {node.gpu}, not {a.gpu}")
    else:
        node = default_node_type(a.gpu)
    if a.weights_dtype in ("nvfp4", "mxfp4") and gpu.fp4_tflops == 0:
        raise ValueError(f"--weights-dtype {a.weights_dtype} needs FP4 tensor cores; {gpu.name} has none (use fp8)")
    if "fp8" in (a.weights_dtype, a.kv_dtype) and gpu.fp8_tflops == 0:
        raise ValueError(f"fp8 needs FP8 tensor cores; {gpu.name} has none (use bf16)")
    for flag, number in (
        ("--ttft-ms", a.ttft_ms),
        ("--itl-ms", a.itl_ms),
        ("--rps", a.rps),
        ("--cold-start-s", a.cold_start_s),
    ):
        if number is not None and not math.isfinite(number):
            raise ValueError(f"{flag} must be a finite number (got {number})")
    if a.cold_start_s <= 0:
        raise ValueError(f"--cold-start-s must be > 0 (got {a.cold_start_s})")
    for flag, value in (("--isl", a.isl), ("--osl", a.osl), ("--ttft-ms", a.ttft_ms), ("--itl-ms", a.itl_ms)):
        if not value > 0:
            raise ValueError(f"{flag} must be > 0 (got {value})")
    if (a.rps is None) == (a.concurrency is None):
        raise ValueError("give exactly one of --rps or --concurrency")
    if a.rps is not None and not a.rps > 0:
        raise ValueError(f"--rps must be > 0 (got {a.rps})")
    if a.concurrency is not None and a.concurrency < 1:
        raise ValueError(f"--concurrency must be >= 1 (got {a.concurrency})")
    try:
        workload = Workload(
            a.isl, a.osl, a.ttft_ms, a.itl_ms, rps=a.rps, concurrency=a.concurrency, cold_start_s=a.cold_start_s
        )
    except PlannerInputError as exc:
        raise ValueError(str(exc)) from None
    arch = ARCHITECTURES[a.model]
    if a.isl + a.osl > arch.max_context:
        raise ValueError(f"--isl + --osl = {a.isl + a.osl} exceeds {a.model}'s context of {arch.max_context} tokens")
    target = Target(arch, gpu, node, a.weights_dtype, a.kv_dtype)
    modes = ("aggregated", "disaggregated") if a.mode == "auto" else (a.mode,)
    result = plan(target, workload, modes)  # type: ignore[arg-type]
    if not result.feasible:
        raise ValueError(result.explanation)
    summary = summarize(result)
    bad = [k for k, v in summary.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:  # `--json` is strict JSON: never NaN or Infinity
        raise ValueError(f"the planner produced non-finite {', '.join(bad)} for these inputs; please report it")
    return summary


# Human output: readable labels with units (the JSON keys stay the contract).
_LABELS: dict[str, str] = {
    "feasible": "feasible",
    "model": "model",
    "gpu": "GPU",
    "nodeType": "node type",
    "weightsDtype": "weights dtype",
    "kvDtype": "KV cache dtype",
    "weightsBytes": "weights",
    "weightsBytesPerGpu": "weights per GPU",
    "efficiency": "efficiency factors",
    "kvBytesPerToken": "KV cache per token",
    "mode": "mode",
    "tensorParallel": "tensor parallel (decode / aggregated)",
    "replicas": "replicas (decode / aggregated)",
    "pipelineParallel": "pipeline parallel (decode / aggregated)",
    "dataParallel": "data parallel (decode / aggregated)",
    "expertParallel": "expert parallel (decode / aggregated)",
    "gpusPerReplica": "GPUs per replica (decode / aggregated)",
    "prefillTensorParallel": "prefill tensor parallel",
    "prefillPipelineParallel": "prefill pipeline parallel",
    "prefillDataParallel": "prefill data parallel",
    "prefillExpertParallel": "prefill expert parallel",
    "prefillReplicas": "prefill replicas",
    "gpus": "GPUs",
    "nodes": "nodes",
    "kvCapacityTokensPerReplica": "KV cache capacity per replica (tokens)",
    "maxConcurrencyPerReplica": "max concurrent requests per replica",
    "batchPerReplica": "running batch per replica",
    "prefillMs": "prefill time (ms)",
    "ttftMs": "time to first token, p95 (ms)",
    "itlMs": "inter-token latency, p95 (ms)",
    "requestsPerSecond": "requests per second",
    "tokensPerSecondPerGpu": "output tokens per second per GPU",
    "costPerHour": "cost, GPU share ($/hour)",
    "nodesCostPerHour": "cost, whole nodes ($/hour)",
    "costPerMillionTokens": "cost per million output tokens ($)",
    "costPerMillionTotalTokens": "cost per million input+output tokens ($)",
    "kvWorkingSetGiB": "KV working set (GiB)",
    "hostRamGiBPerReplica": "host-RAM KV tier per replica (GiB)",
    "nvmeGiBPerReplica": "NVMe KV tier per replica (GiB)",
    "kvWorkingSetUncoveredGiB": "KV working set not covered by tiers (GiB)",
    "coldStartReadGBpsPerReplica": "cold-start read per replica (GB/s)",
    "coldStartReadGBpsAllReplicas": "cold-start read, all replicas (GB/s)",
    "bindingConstraint": "binding constraint",
    "meetsSlo": "meets the SLO",
}


def _human(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in ("weightsBytes", "weightsBytesPerGpu"):
        return f"{value / 1e9:,.1f} GB"
    if key == "kvBytesPerToken":
        return f"{value / 1024:,.0f} KiB"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def human_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of a `run_size` result for the table, in the JSON's order, explanation left out."""
    return [(_LABELS.get(k, k), _human(k, v)) for k, v in summary.items() if k not in ("explanation", "rejected")]
