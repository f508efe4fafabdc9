"""Model optimization before serving: TensorRT Model Optimizer quantization Jobs (FP8 / NVFP4) and TensorRT-LLM
engine builds, writing into the shared model cache so that the graphs load the result instead of the original.

Order: prefetch (storage layer) -> quantize -> engine build -> DynamoGraphDeployment. The graph depends on
`ctx.optimization.jobs[model.name]`, the last Job of the model's chain (its Jobs run in turn);
pulumi-kubernetes waits for a Job to complete before it reports it created, so the graph is created only once
the optimized weights exist. The scripts
are mounted from a ConfigMap and skip work whose output already carries a `.complete` marker, so a re-run of a Job
(a changed spec, a replaced cluster) does not redo finished work.

Reads the storage layer's `model_cache_claims`, `prefetch_jobs_by_namespace` and `token_secrets`; returns
`OptimizationOutputs` {model name: last Job}.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pulumi

from components import constants as C
from components import k8s as kobj
from components import podsecurity
from components.catalog import IMAGES
from components.context import PlatformContext
from components.namespaces import model_namespace
from components.outputs import OptimizationOutputs
from components.spec import StackSpec
from components.spec.serving import ModelSpec

OPTIMIZED_DIR = f"{C.MODEL_CACHE_MOUNT}/optimized"
ENGINES_DIR = f"{C.MODEL_CACHE_MOUNT}/trtllm-engines"
SCRIPTS_CONFIGMAP = "inference-ra-optimization-scripts"
SCRIPTS_MOUNT = "/opt/inference-ra"
SCRIPTS = ("modelopt_quantize.py", "trtllm_build.py")
LABELS = {"app.kubernetes.io/part-of": "inference-ra", "app.kubernetes.io/component": "model-optimization"}
CALIBRATION_SEQ_LEN = 512
BF16_HBM_FRACTION = 0.75  # of each GPU's HBM the BF16 source weights may take while calibrating
JOB_TIMEOUT = "4h"


def quantized_path(model: ModelSpec) -> str | None:
    """Where the quantized checkpoint of `model` lands in the cache (None without quantization)."""
    q = model.optimization.quantize
    return f"{OPTIMIZED_DIR}/{model.name}-{q.format}" if q else None


def engine_path(model: ModelSpec, tp: int) -> str:
    return f"{ENGINES_DIR}/{model.name}/tp{tp}"


def engine_tps(model: ModelSpec) -> list[int]:
    """One engine per distinct tensor-parallel size of the graph's workers (prefill and decode may differ)."""
    return sorted({w.tensor_parallel for w in model.workers().values()}) or [1]


def builds_engine(model: ModelSpec) -> bool:
    return model.optimization.trtllm_engine and model.engine == "trtllm"


def served_model_path(model: ModelSpec) -> str | None:
    """What the graph should load instead of `model.model`: the quantized checkpoint (engines are per TP; a
    TensorRT-LLM worker of TP k loads `engine_path(model, k)`). None when nothing is optimized."""
    return quantized_path(model)


def optimization_gpus(spec: StackSpec, model: ModelSpec) -> int:
    """GPUs the quantization Job needs: the BF16 source weights spread within BF16_HBM_FRACTION of each GPU's
    HBM, rounded up to a power of two, at most one node."""
    arch, pool = spec.architecture(model), spec.pool(model.pool)
    gpu = spec.gpu_model(pool) if pool else None
    node = spec.node_type(pool) if pool else None
    if arch is None or gpu is None:
        return 1
    need = arch.weights_bytes("bf16") / (gpu.hbm_bytes * BF16_HBM_FRACTION)
    gpus = 2 ** max(0, math.ceil(math.log2(max(need, 1.0))))
    return min(gpus, node.gpus if node else gpus)


def scripts_configmap(namespace: str) -> kobj.Manifest:
    here = Path(__file__).resolve().parent / "scripts"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": kobj.metadata(SCRIPTS_CONFIGMAP, namespace, LABELS),
        "data": {name: (here / name).read_text(encoding="utf-8") for name in SCRIPTS},
    }


def _token_env(model: ModelSpec) -> list[dict[str, Any]]:
    if model.token_secret == "none":
        return []
    secret, key = (C.HF_TOKEN_SECRET, "HF_TOKEN") if model.token_secret == "hf" else (C.NGC_TOKEN_SECRET, "NGC_API_KEY")
    ref = {"secretKeyRef": {"name": secret, "key": key, "optional": True}}
    return [{"name": key, "valueFrom": ref}]


def _job(
    spec: StackSpec, model: ModelSpec, namespace: str, name: str, script: str, env: dict[str, str], gpus: int
) -> kobj.Manifest:
    pool = spec.pool(model.pool)
    selector = {C.POOL_LABEL: model.pool} if pool else {}
    container = {
        "name": "optimize",
        "image": IMAGES["modelopt"],
        "command": ["python3", f"{SCRIPTS_MOUNT}/{script}"],
        "env": [{"name": k, "value": v} for k, v in {"HF_HOME": C.HF_HOME, **env}.items()] + _token_env(model),
        "resources": {"limits": {"nvidia.com/gpu": gpus}, "requests": {"nvidia.com/gpu": gpus}},
        "volumeMounts": [
            {"name": "model-cache", "mountPath": C.MODEL_CACHE_MOUNT},
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "dshm", "mountPath": "/dev/shm"},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": kobj.metadata(name, namespace, {**LABELS, "inference-ra.nvidia.com/model": model.name}),
        "spec": {
            "backoffLimit": 1,
            "template": {
                "metadata": {"labels": {**LABELS, "inference-ra.nvidia.com/model": model.name}},
                "spec": podsecurity.secure_pod(
                    {
                        "restartPolicy": "Never",
                        "nodeSelector": selector,
                        "tolerations": [C.GPU_TOLERATION],
                        "containers": [container],
                        "volumes": [
                            {"name": "model-cache", "persistentVolumeClaim": {"claimName": C.MODEL_CACHE_CLAIM}},
                            {"name": "scripts", "configMap": {"name": SCRIPTS_CONFIGMAP}},
                            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Gi"}},
                        ],
                    },
                    service_account=podsecurity.OPTIMIZATION_SA,
                    api_access=False,
                ),
            },
        },
    }


def quantize_job(spec: StackSpec, model: ModelSpec) -> kobj.Manifest | None:
    q = model.optimization.quantize
    if q is None:
        return None
    env = {
        "SOURCE": model.model,
        "OUTPUT": quantized_path(model) or "",
        "QFORMAT": q.format,
        "CALIB_DATASET": q.calibration_dataset,
        "CALIB_SAMPLES": str(q.calibration_samples),
        "CALIB_SEQ_LEN": str(CALIBRATION_SEQ_LEN),
    }
    ns = model_namespace(spec, model.name)
    return _job(spec, model, ns, f"{model.name}-quantize-{q.format}", SCRIPTS[0], env, optimization_gpus(spec, model))


def engine_jobs(spec: StackSpec, model: ModelSpec) -> list[kobj.Manifest]:
    if not builds_engine(model):
        return []
    ns = model_namespace(spec, model.name)
    arch = spec.architecture(model)
    max_len = model.max_model_len or (arch.max_context if arch else 8192)
    jobs = []
    for tp in engine_tps(model):
        env = {
            "SOURCE": quantized_path(model) or model.model,
            "OUTPUT": engine_path(model, tp),
            "TP": str(tp),
            "MAX_BATCH_SIZE": "256",
            "MAX_NUM_TOKENS": "8192",
            "MAX_SEQ_LEN": str(max_len),
        }
        jobs.append(_job(spec, model, ns, f"{model.name}-trtllm-engine-tp{tp}", SCRIPTS[1], env, tp))
    return jobs


def _opts(
    ctx: PlatformContext, parent: pulumi.Resource, ns: str, deps: list[pulumi.Resource]
) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(
        ctx.k8s_opts(parent, depends_on=deps, namespace=ns),
        pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=JOB_TIMEOUT, update=JOB_TIMEOUT)),
    )


def build(ctx: PlatformContext, parent: pulumi.Resource) -> OptimizationOutputs:
    """Register the optimization Jobs of every model that asks for them; returns {model: last Job} (empty when no
    model asks)."""
    spec = ctx.spec
    claims = ctx.storage.model_cache_claims
    prefetch = ctx.storage.prefetch_jobs_by_namespace
    secrets = ctx.storage.token_secrets
    done: dict[str, pulumi.Resource] = {}
    configmaps: dict[str, Any] = {}
    accounts: dict[str, Any] = {}  # the Jobs' ServiceAccount per namespace
    for model in spec.serving.models:
        q, engines = quantize_job(spec, model), engine_jobs(spec, model)
        if q is None and not engines:
            continue
        ns = model_namespace(spec, model.name)
        if ns not in configmaps:
            configmaps[ns] = kobj.apply(scripts_configmap(ns), ctx.k8s_opts(parent, namespace=ns))
            sa = podsecurity.service_account(podsecurity.OPTIMIZATION_SA, ns, api_access=False, labels=LABELS)
            accounts[ns] = kobj.apply(sa, ctx.k8s_opts(parent, namespace=ns))
        deps = [configmaps[ns], accounts[ns], *([claims[ns]] if ns in claims else []), *secrets.get(ns, ())]
        deps += [job for uri, job in prefetch.get(ns, {}).items() if uri == model.model]
        # one chain per model: quantize, then each engine build in turn, so the last Job implies all finished
        last: pulumi.Resource | None = None
        for manifest in [m for m in (q, *engines) if m is not None]:
            last = kobj.apply(manifest, _opts(ctx, parent, ns, deps + ([last] if last is not None else [])))
        assert last is not None  # a model with no Jobs was skipped above
        done[model.name] = last
    return OptimizationOutputs(jobs=done)
