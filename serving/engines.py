"""Engine command lines for Dynamo workers: vLLM, SGLang and TensorRT-LLM, from the typed spec.

Spec parallelism is in GPUs: one replica uses tensorParallel x pipelineParallel x dataParallel GPUs. vLLM takes the
three sizes directly. SGLang and TensorRT-LLM express data parallelism as attention-DP *inside* the tensor-parallel
world, so their tensor-parallel size is tp x dp with attention DP switched on. Multinode flags (node rank, leader
address) are injected by the Dynamo operator per backend, so they are not set here.

Every flag rendered here has a row in docs/serving.md naming the upstream code that parses it (Dynamo 1.4.0 and the
engine versions its runtime images bundle, components/catalog/dynamo.py). Flags whose names differ between Dynamo
releases come from the release entry (`release.flags`).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog.dynamo import DynamoRelease
from components.spec.serving import ModelSpec, WorkerSpec
from serving import kv, optimization

MODULES = {"vllm": "dynamo.vllm", "sglang": "dynamo.sglang", "trtllm": "dynamo.trtllm"}
DTYPE_KV = {  # spec kvDtype -> engine KV cache dtype flag value (bf16/fp16 = engine default, flag omitted)
    "vllm": {"fp8": "fp8"},
    "sglang": {"fp8": "fp8_e4m3"},
    "trtllm": {},
}
SGLANG_BOOTSTRAP_PORT = 8998  # SGLang's own default (server_args.py disaggregation_bootstrap_port)
KV_EVENTS_ENDPOINT = "tcp://*:5557"  # the engine's ZMQ publisher; the Dynamo worker in the same pod subscribes
KV_EVENTS_TOPIC = "kv-events"
ALL_INTERFACES = "0.0.0.0"


@dataclass(frozen=True)
class EngineInputs:
    """What a worker's command line takes besides the model spec: the Dynamo release, the fabric's NIXL backend,
    whether the router consumes this role's KV events, and the TensorRT-LLM KV memory fraction (derived from
    gpuMemoryUtilization and the weights, `graphs.trtllm_free_memory_fraction`)."""

    release: DynamoRelease
    nixl_backend: str = "UCX"
    publish_kv_events: bool = False
    trtllm_free_memory_fraction: float | None = None


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


def served_model_name(model: ModelSpec) -> str:
    """What clients ask for and what the frontend labels its `dynamo_frontend_*` series with (`model`, case kept)."""
    return model.model


def _disagg_role(model: ModelSpec, role: str) -> str | None:
    return role if model.mode == "disaggregated" and role in ("prefill", "decode") else None


def publishes_kv_events(model: ModelSpec, role: str) -> bool:
    """Whether the frontend's KV router consumes this role's KV events: aggregated workers and, disaggregated, the
    prefill workers it picks by prefix overlap (Dynamo's disagg_router examples publish from prefill only; decode
    workers receive their KV over NIXL and are chosen by load)."""
    return model.router == "kv" and role in ("worker", "prefill")


def kv_events_config(engine: str) -> dict[str, object]:
    """`--kv-events-config` of a publishing vLLM / SGLang worker: the engine's ZMQ publisher, which the Dynamo
    worker subscribes to on localhost (dynamo/vllm/main.py:400, dynamo/sglang/publisher.py:311) and forwards to the
    router. vLLM publishes only with `enable_kv_cache_events` (vllm/config/kv_events.py:14; dynamo/vllm/args.py:401);
    SGLang only with a publisher other than "null" (dynamo/sglang/args.py:588)."""
    cfg: dict[str, object] = {"publisher": "zmq", "topic": KV_EVENTS_TOPIC, "endpoint": KV_EVENTS_ENDPOINT}
    if engine == "vllm":
        cfg["enable_kv_cache_events"] = True
    return cfg


def vllm_args(model: ModelSpec, role: str, w: WorkerSpec, inputs: EngineInputs) -> list[str]:
    args = ["--model", load_path(model, w), "--served-model-name", served_model_name(model)]
    args += ["--tensor-parallel-size", str(w.tensor_parallel)]
    if w.pipeline_parallel > 1:
        args += ["--pipeline-parallel-size", str(w.pipeline_parallel)]
    if w.data_parallel > 1:
        args += ["--data-parallel-size", str(w.data_parallel)]
    if w.expert_parallel:
        args.append("--enable-expert-parallel")
    if model.max_model_len:
        args += ["--max-model-len", str(model.max_model_len)]
    args += ["--gpu-memory-utilization", f"{model.gpu_memory_utilization:g}"]
    if model.block_size is not None:
        args += ["--block-size", str(model.block_size)]
    if dt := DTYPE_KV["vllm"].get(model.kv_dtype):
        args += ["--kv-cache-dtype", dt]
    if mode := _disagg_role(model, role):
        args += ["--disaggregation-mode", mode]
    if (cfg := kv.vllm_kv_transfer_config(model, role, inputs.nixl_backend)) is not None:
        args += ["--kv-transfer-config", kv.compact_json(cfg)]
    if model.mode == "disaggregated" and model.kv_cache.connector == "kvbm":
        # KVBM's connector does not support vLLM's hybrid KV cache manager; prefill and decode must agree on the KV
        # layout NIXL moves, so both turn it off (vLLM 0.26 also auto-disables it for such a connector,
        # vllm/config/vllm.py:1600, and Dynamo does for PdConnector, dynamo/vllm/main.py:562: explicit here).
        args.append("--disable-hybrid-kv-cache-manager")
    if inputs.publish_kv_events:
        args += ["--kv-events-config", kv.compact_json(kv_events_config("vllm"))]
    return args


def sglang_args(model: ModelSpec, role: str, w: WorkerSpec, inputs: EngineInputs) -> list[str]:
    world = w.tensor_parallel * w.data_parallel
    args = ["--model-path", load_path(model, w), "--served-model-name", served_model_name(model)]
    args += ["--tp-size", str(world)]
    if w.data_parallel > 1:
        args += ["--dp-size", str(w.data_parallel), "--enable-dp-attention"]
    if w.pipeline_parallel > 1:
        args += ["--pp-size", str(w.pipeline_parallel)]
    if w.expert_parallel:
        args += ["--ep-size", str(world)]
    if model.max_model_len:
        args += ["--context-length", str(model.max_model_len)]
    args += ["--mem-fraction-static", f"{model.gpu_memory_utilization:g}"]
    if model.block_size is not None:
        args += ["--page-size", str(model.block_size)]
    if dt := DTYPE_KV["sglang"].get(model.kv_dtype):
        args += ["--kv-cache-dtype", dt]
    if mode := _disagg_role(model, role):
        port = model.disaggregation_bootstrap_port or SGLANG_BOOTSTRAP_PORT
        args += ["--disaggregation-mode", mode, "--disaggregation-transfer-backend", "nixl"]
        # the prefill's bootstrap server binds --host (SGLang default 127.0.0.1, managers/disagg_service.py:26):
        # decode workers in other pods reach it only on all interfaces
        args += ["--disaggregation-bootstrap-port", str(port), "--host", ALL_INTERFACES]
    if kv.offloads(model, role) and model.kv_cache.connector == "lmcache":
        args.append("--enable-lmcache")
    if inputs.publish_kv_events:
        args += ["--kv-events-config", kv.compact_json(kv_events_config("sglang"))]
    args.append("--trust-remote-code")
    return args


def trtllm_args(model: ModelSpec, role: str, w: WorkerSpec, inputs: EngineInputs) -> list[str]:
    world = w.tensor_parallel * w.data_parallel
    args = [
        inputs.release.flags["trtllm.model"],
        load_path(model, w),
        "--served-model-name",
        served_model_name(model),
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
    if model.block_size is not None:
        args += ["--kv-block-size", str(model.block_size)]
    if inputs.trtllm_free_memory_fraction is not None:
        args += ["--free-gpu-memory-fraction", f"{inputs.trtllm_free_memory_fraction:g}"]
    if mode := _disagg_role(model, role):
        args += ["--disaggregation-mode", mode]
    if inputs.publish_kv_events:
        args.append(inputs.release.flags["trtllm.publish_kv_events"])
    if overrides := kv.trtllm_engine_overrides(model, role):
        args += ["--override-engine-args", kv.compact_json(overrides)]
    return args


_BUILDERS = {"vllm": vllm_args, "sglang": sglang_args, "trtllm": trtllm_args}


def worker_command(model: ModelSpec, role: str, w: WorkerSpec, inputs: EngineInputs) -> EngineCommand:
    """`python3 -m dynamo.<engine>` with the spec's engine arguments, then the user's extra args verbatim."""
    args = _BUILDERS[model.engine](model, role, w, inputs) + list(w.extra_args)
    return EngineCommand(["python3", "-m", MODULES[model.engine]], args)


def nixl_backend_env(engine: str, backend: str) -> dict[str, str]:
    """The NIXL backend for engines that read it from the environment (vLLM takes it in --kv-transfer-config):
    SGLang `SGLANG_DISAGGREGATION_NIXL_BACKEND` (sglang 0.5.16 environ.py:378, read by disaggregation/nixl/conn.py:377),
    TensorRT-LLM `TRTLLM_NIXL_KVCACHE_BACKEND` (Dynamo docs/backends/trtllm/kv-cache-transfer.md). Empty for UCX,
    the default of both."""
    if backend == "UCX":
        return {}
    name = {"sglang": "SGLANG_DISAGGREGATION_NIXL_BACKEND", "trtllm": "TRTLLM_NIXL_KVCACHE_BACKEND"}.get(engine)
    return {name: backend} if name else {}
