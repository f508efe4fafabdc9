"""Engine command lines for Dynamo workers: vLLM, SGLang and TensorRT-LLM, from the typed spec.

Spec parallelism is in GPUs: one replica uses tensorParallel x pipelineParallel x dataParallel GPUs. vLLM takes the
three sizes directly. SGLang and TensorRT-LLM express data parallelism as attention-DP *inside* the tensor-parallel
world, so their tensor-parallel size is tp x dp with attention DP switched on. Multinode flags (node rank, leader
address) are injected by the Dynamo operator per backend, so they are not set here.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.spec.serving import ModelSpec, WorkerSpec
from serving import kv, optimization

MODULES = {"vllm": "dynamo.vllm", "sglang": "dynamo.sglang", "trtllm": "dynamo.trtllm"}
DTYPE_KV = {  # spec kvDtype -> engine KV cache dtype flag value (bf16/fp16 = engine default, flag omitted)
    "vllm": {"fp8": "fp8"},
    "sglang": {"fp8": "fp8_e4m3"},
    "trtllm": {},
}


@dataclass(frozen=True)
class EngineCommand:
    command: list[str]
    args: list[str]


def load_path(model: ModelSpec, w: WorkerSpec) -> str:
    """What a worker loads: its TensorRT-LLM engine, else the quantized checkpoint in the model cache, else the
    model id (clients and metrics keep seeing `model.model` through --served-model-name)."""
    if optimization.builds_engine(model):
        return optimization.engine_path(model, w.tensor_parallel)
    return optimization.served_model_path(model) or model.model


def _disagg_role(model: ModelSpec, role: str) -> str | None:
    return role if model.mode == "disaggregated" and role in ("prefill", "decode") else None


def vllm_args(model: ModelSpec, role: str, w: WorkerSpec) -> list[str]:
    args = ["--model", load_path(model, w), "--served-model-name", model.model]
    args += ["--tensor-parallel-size", str(w.tensor_parallel)]
    if w.pipeline_parallel > 1:
        args += ["--pipeline-parallel-size", str(w.pipeline_parallel)]
    if w.data_parallel > 1:
        args += ["--data-parallel-size", str(w.data_parallel)]
    if w.expert_parallel:
        args.append("--enable-expert-parallel")
    if model.max_model_len:
        args += ["--max-model-len", str(model.max_model_len)]
    args += ["--gpu-memory-utilization", f"{model.gpu_memory_utilization:g}", "--block-size", str(model.block_size)]
    if dt := DTYPE_KV["vllm"].get(model.kv_dtype):
        args += ["--kv-cache-dtype", dt]
    if mode := _disagg_role(model, role):
        args += ["--disaggregation-mode", mode]
    if (cfg := kv.vllm_kv_transfer_config(model, role)) is not None:
        args += ["--kv-transfer-config", kv.compact_json(cfg)]
    return args


def sglang_args(model: ModelSpec, role: str, w: WorkerSpec) -> list[str]:
    world = w.tensor_parallel * w.data_parallel
    args = ["--model-path", load_path(model, w), "--served-model-name", model.model, "--tp-size", str(world)]
    if w.data_parallel > 1:
        args += ["--dp-size", str(w.data_parallel), "--enable-dp-attention"]
    if w.pipeline_parallel > 1:
        args += ["--pp-size", str(w.pipeline_parallel)]
    if w.expert_parallel:
        args += ["--ep-size", str(world)]
    if model.max_model_len:
        args += ["--context-length", str(model.max_model_len)]
    args += ["--mem-fraction-static", f"{model.gpu_memory_utilization:g}", "--page-size", str(model.block_size)]
    if dt := DTYPE_KV["sglang"].get(model.kv_dtype):
        args += ["--kv-cache-dtype", dt]
    if mode := _disagg_role(model, role):
        args += ["--disaggregation-mode", mode, "--disaggregation-transfer-backend", "nixl"]
    if kv.offloads(model, role) and model.kv_cache.connector == "lmcache":
        args.append("--enable-lmcache")
    args.append("--trust-remote-code")
    return args


def trtllm_args(model: ModelSpec, role: str, w: WorkerSpec) -> list[str]:
    world = w.tensor_parallel * w.data_parallel
    args = [
        "--model-path",
        load_path(model, w),
        "--served-model-name",
        model.model,
        "--tensor-parallel-size",
        str(world),
    ]
    if w.pipeline_parallel > 1:
        args += ["--pipeline-parallel-size", str(w.pipeline_parallel)]
    if w.expert_parallel:
        args += ["--expert-parallel-size", str(world)]
    if w.data_parallel > 1:
        args.append("--enable-attention-dp")
    if model.max_model_len:
        args += ["--max-seq-len", str(model.max_model_len)]
    args += [
        "--kv-block-size",
        str(model.block_size),
        "--free-gpu-memory-fraction",
        f"{model.gpu_memory_utilization:g}",
    ]
    if mode := _disagg_role(model, role):
        args += ["--disaggregation-mode", mode]
    if overrides := kv.trtllm_engine_overrides(model, role):
        args += ["--override-engine-args", kv.compact_json(overrides)]
    return args


_BUILDERS = {"vllm": vllm_args, "sglang": sglang_args, "trtllm": trtllm_args}


def worker_command(model: ModelSpec, role: str, w: WorkerSpec) -> EngineCommand:
    """`python3 -m dynamo.<engine>` with the spec's engine arguments, then the user's extra args verbatim."""
    args = _BUILDERS[model.engine](model, role, w) + list(w.extra_args)
    return EngineCommand(["python3", "-m", MODULES[model.engine]], args)
