"""`inference-ra:serving` — Dynamo graphs, KV cache tiers, routing, autoscaling, Triton, optimization, benchmarks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from components.spec.base import SpecModel, key_or_object
from components.spec.types import MAX_PODS, NAME_PATTERN, DnsLabel, DnsSubdomain, UniqueList

Engine = Literal["vllm", "sglang", "trtllm"]
Dtype = Literal["bf16", "fp16", "fp8", "nvfp4", "mxfp4"]


class ExplicitArchitecture(SpecModel):
    params_b: float = Field(gt=0, alias="paramsB", description="Total parameters, billions.")
    active_params_b: float | None = Field(
        None, gt=0, alias="activeParamsB", description="Active parameters per token (MoE), billions."
    )
    layers: int = Field(ge=1, description="Transformer layers.")
    hidden_size: int = Field(ge=1, description="Hidden size.")
    attention_heads: int = Field(ge=1, description="Attention heads.")
    kv_heads: int = Field(ge=1, description="KV heads (GQA).")
    head_dim: int = Field(ge=1, description="Head dimension.")
    max_context: int = Field(ge=1, description="Maximum context length.")
    experts: int = Field(0, ge=0, description="Routed experts (0 = dense).")
    experts_per_token: int = Field(0, ge=0, description="Experts used per token.")


ArchitectureRef = Annotated[
    Annotated[str, Tag("<key>")] | Annotated[ExplicitArchitecture, Tag("<object>")], Discriminator(key_or_object)
]


class WorkerSpec(SpecModel):
    tensor_parallel: int = Field(1, ge=1, description="Tensor parallel size.")
    pipeline_parallel: int = Field(1, ge=1, description="Pipeline parallel size.")
    data_parallel: int = Field(1, ge=1, description="Data parallel size (attention DP for MoE).")
    expert_parallel: bool = Field(False, description="Enable expert parallelism (MoE).")
    replicas: int = Field(1, ge=0, le=MAX_PODS, description="Worker replicas.")
    multinode: bool = Field(False, description="Allow one replica to span nodes (GPUs per replica > GPUs per node).")
    extra_args: list[str] = Field(default_factory=list, description="Extra engine arguments, appended verbatim.")

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel * self.data_parallel


class KvCacheSpec(SpecModel):
    connector: Literal["none", "kvbm", "lmcache"] = Field(
        "none", description="KV offload: KVBM (vLLM, TensorRT-LLM) or LMCache (vLLM, SGLang)."
    )
    cpu_gi: int = Field(0, ge=0, description="G2 host-RAM tier per worker, GiB.")
    disk_gi: int = Field(0, ge=0, description="G3 local-NVMe tier per worker, GiB (needs pool localNvme).")
    object_store: str | None = Field(
        None, description="G4 object tier, s3://bucket/prefix (KVBM object offload / LMCache remote)."
    )


class SloSpec(SpecModel):
    ttft_ms: float = Field(gt=0, description="Time-to-first-token target (p95), ms.")
    itl_ms: float = Field(gt=0, description="Inter-token latency target (p95), ms.")
    error_rate: float = Field(0.01, ge=0, le=1, description="Maximum fraction of failed requests.")
    isl: int = Field(2048, ge=1, description="Typical input sequence length (tokens) for sizing and benchmarks.")
    osl: int = Field(256, ge=1, description="Typical output sequence length (tokens).")


class TrafficSpec(SpecModel):
    rps: float | None = Field(None, gt=0, description="Requests per second to serve.")
    concurrency: int | None = Field(None, ge=1, description="Concurrent requests to serve.")


class AutoscalingSpec(SpecModel):
    mode: Literal["none", "planner-sla", "keda"] = Field(
        "none", description="Dynamo Planner in SLA mode, KEDA on Prometheus, or fixed replicas."
    )
    min_replicas: int = Field(1, ge=0, le=MAX_PODS, description="Minimum replicas of each scaled worker.")
    max_replicas: int = Field(1, ge=1, le=MAX_PODS, description="Maximum replicas of each scaled worker.")


class QuantizeSpec(SpecModel):
    format: Literal["fp8", "nvfp4"] = Field(description="TensorRT Model Optimizer quantization format.")
    calibration_dataset: str = Field("cnn_dailymail", description="Calibration dataset.")
    calibration_samples: int = Field(512, ge=1, description="Calibration samples.")


class OptimizationSpec(SpecModel):
    quantize: QuantizeSpec | None = Field(None, description="Quantize before serving; output to the model cache.")
    trtllm_engine: bool = Field(False, description="Build a TensorRT-LLM engine before serving (engine trtllm).")


class BenchmarkSpec(SpecModel):
    enabled: bool = Field(False, description="Run an AIPerf job against the model's frontend.")
    concurrency: UniqueList[Annotated[int, Field(ge=1, le=MAX_PODS)]] = Field(
        default_factory=lambda: [1, 8, 32, 64],
        min_length=1,
        description="Concurrency sweep of the benchmark (each level >= 1, each once).",
    )


class ModelSpec(SpecModel):
    name: str = Field(pattern=NAME_PATTERN, description="Graph name (DynamoGraphDeployment); an RFC 1123 label.")
    model: str = Field(description="Served model id (HF repo id or cache path).")
    architecture: ArchitectureRef = Field(
        description="Architecture catalog key (e.g. llama-3.3-70b) or explicit dimensions."
    )
    engine: Engine = Field("vllm", description="Inference engine.")
    pool: str = Field(description="GPU pool the workers run on.")
    namespace: DnsLabel | None = Field(
        None, description="Namespace (default: the tenant's, else `dynamo`); never a system or operator namespace."
    )
    tenant: str | None = Field(None, description="KAI queue / tenant that owns the graph.")
    weights_dtype: Dtype = Field("bf16", description="Dtype of the served weights.")
    kv_dtype: Dtype = Field("bf16", description="KV cache dtype.")
    mode: Literal["aggregated", "disaggregated"] = Field(
        "aggregated", description="One worker type, or prefill and decode workers exchanging KV over NIXL."
    )
    sizing: Literal["manual", "auto"] = Field(
        "manual", description="`auto` takes parallelism and replicas from the capacity planner."
    )
    worker: WorkerSpec | None = Field(None, description="Aggregated worker (mode aggregated).")
    prefill: WorkerSpec | None = Field(None, description="Prefill worker (mode disaggregated).")
    decode: WorkerSpec | None = Field(None, description="Decode worker (mode disaggregated).")
    frontend_replicas: int = Field(1, ge=1, le=MAX_PODS, description="Frontend (HTTP + router) replicas.")
    router: Literal["kv", "round-robin", "random"] = Field("kv", description="Frontend router mode.")
    kv_overlap_weight: float = Field(
        1.0,
        ge=0,
        description="KV router weight of prompt-side prefill load after prefix-overlap credit (router kv; Dynamo 1.4 "
        "DYN_ROUTER_PREFILL_LOAD_SCALE).",
    )
    max_model_len: int | None = Field(None, ge=1, description="Maximum sequence length served.")
    gpu_memory_utilization: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Fraction of each GPU's HBM for weights + KV cache. vLLM --gpu-memory-utilization and SGLang "
        "--mem-fraction-static take it as is; TensorRT-LLM's --free-gpu-memory-fraction counts only the memory left "
        "after the weights, so it gets (value x HBM - weights) / (HBM - weights) (docs/serving.md).",
    )
    block_size: int | None = Field(
        None,
        ge=1,
        description="KV cache block size, tokens (vLLM --block-size, SGLang --page-size, TensorRT-LLM "
        "--kv-block-size). Unset: each engine keeps its own default.",
    )
    disaggregation_bootstrap_port: int | None = Field(
        None,
        ge=1024,
        le=65535,
        description="SGLang disaggregation: port of the prefill worker's KV bootstrap server, which decode workers "
        "connect to (--disaggregation-bootstrap-port; unset: 8998, SGLang's default). SGLang only.",
    )
    kv_cache: KvCacheSpec = Field(default_factory=KvCacheSpec, description="KV cache tiers below HBM.")
    slo: SloSpec | None = Field(None, description="Latency targets: drive autoscaling, alerts and benchmarks.")
    traffic: TrafficSpec | None = Field(None, description="Expected load (for sizing auto and cost).")
    autoscaling: AutoscalingSpec = Field(default_factory=AutoscalingSpec, description="Replica autoscaling.")
    optimization: OptimizationSpec = Field(default_factory=OptimizationSpec, description="Model optimization.")
    benchmark: BenchmarkSpec = Field(default_factory=BenchmarkSpec, description="AIPerf benchmark job.")
    cold_start_seconds: int | None = Field(None, ge=1, description="Per-model override of storage.coldStartSeconds.")
    token_secret: Literal["hf", "ngc", "none"] = Field(
        "hf", description="Which token (config secret hfToken / ngcToken) the workers receive."
    )
    shared_memory_gi: int = Field(
        16, ge=1, description="/dev/shm per worker pod, GiB (NCCL and engine IPC; the operator default is 8)."
    )

    def workers(self) -> dict[str, WorkerSpec]:
        """The worker roles of this graph by name, in render order."""
        if self.mode == "aggregated":
            return {"worker": self.worker} if self.worker else {}
        out: dict[str, WorkerSpec] = {}
        if self.prefill:
            out["prefill"] = self.prefill
        if self.decode:
            out["decode"] = self.decode
        return out


ImageKey = Literal["vllm", "sglang", "trtllm", "vllm-efa", "sglang-efa", "trtllm-efa", "epp"]


class DynamoSpec(SpecModel):
    version: str = Field(
        "1.4.0",
        pattern=r"^\d+\.\d+\.\d+$",
        description="Dynamo release (semver): selects the platform chart, CRD version, runtime/EPP images and engine "
        "flags from the release catalog (components/catalog/dynamo.py); an unlisted version is an error.",
    )
    images: dict[ImageKey, str] = Field(
        default_factory=dict,
        description="Override the release's images: `<engine>` runtime, `<engine>-efa` EFA-enabled runtime (used "
        "by disaggregated workers on an EFA fabric), `epp` Endpoint Picker. Pin a tag or digest.",
    )
    grove: bool = Field(False, description="Gang-schedule multinode graphs with Grove.")
    kai_scheduler: bool = Field(False, description="Schedule workers with the KAI Scheduler and its queues.")
    namespace: DnsLabel = Field("dynamo-system", description="Namespace of the Dynamo operator and NATS.")
    nats: bool = Field(True, description="Install the platform chart's NATS (KV events and router replica sync).")


class TritonModelSpec(SpecModel):
    name: str = Field(pattern=NAME_PATTERN, description="Triton deployment name; an RFC 1123 label.")
    repository: str = Field(description="Model repository: s3://bucket/prefix or a path in the model cache.")
    backends: UniqueList[Literal["tensorrt", "onnxruntime", "pytorch", "python"]] = Field(
        default_factory=lambda: ["onnxruntime"],  # type: ignore[arg-type]
        description="Backends the repository uses.",
    )
    pool: str | None = Field(None, description="GPU pool (absent: CPU nodes).")
    gpus: int = Field(1, ge=0, description="GPUs per replica.")
    replicas: int = Field(1, ge=1, le=MAX_PODS, description="Minimum replicas.")
    max_replicas: int = Field(4, ge=1, le=MAX_PODS, description="HPA maximum replicas.")
    namespace: DnsLabel = Field("triton", description="Namespace; never a system or operator namespace.")
    cpu: int = Field(4, ge=1, description="CPU request per replica, cores (the HPA scales on its utilization).")
    memory_gi: int = Field(16, ge=1, description="Memory request and limit per replica, GiB.")
    target_cpu_utilization: int = Field(
        70, ge=1, le=100, description="HPA target: average CPU utilization of the replicas, percent."
    )
    s3_endpoint: str | None = Field(
        None,
        pattern=r"^https?://[^/]+:[0-9]+$",
        description="S3-compatible endpoint with scheme and port (bare metal, e.g. https://s3.example.com:443); "
        "absent: AWS S3.",
    )
    s3_region: str | None = Field(None, description="S3 region (AWS_DEFAULT_REGION; default: the stack's region).")
    s3_credentials_secret: DnsSubdomain | None = Field(
        None,
        description="Secret in the namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the repository "
        "(needed off AWS; on EKS the IRSA model-reader role is used instead).",
    )

    @property
    def irsa_bucket(self) -> str | None:
        """The AWS S3 bucket of the repository when it is read through the model-reader IRSA role (an s3:// repository
        on AWS S3 itself, without a credentials Secret); None otherwise."""
        if not self.repository.startswith("s3://") or self.s3_endpoint or self.s3_credentials_secret:
            return None
        return self.repository.removeprefix("s3://").split("/", 1)[0]


class RoutingSpec(SpecModel):
    inference_gateway: bool = Field(
        False,
        description="Serve models through the Gateway API Inference Extension as Dynamo's gaie examples do: an EPP "
        "component and a frontend sidecar per worker (no standalone frontend); the operator creates the InferencePool "
        "`<model>-pool` for your HTTPRoute.",
    )


class ServingSpec(SpecModel):
    dynamo: DynamoSpec = Field(default_factory=DynamoSpec, description="Dynamo platform.")
    routing: RoutingSpec = Field(default_factory=RoutingSpec, description="Request routing options.")
    models: list[ModelSpec] = Field(default_factory=list, description="LLMs served by Dynamo.")
    triton: list[TritonModelSpec] = Field(default_factory=list, description="Traditional ML on Triton.")
