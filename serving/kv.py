"""KV cache tiers below HBM: KVBM (G2 host RAM, G3 local NVMe, G4 object) or LMCache, per model.

Names come from the KVBM 1.4.0 README (kvbm wheel METADATA "Environment Variables": `DYN_KVBM_CPU_CACHE_GB`,
`DYN_KVBM_DISK_CACHE_GB`, `DYN_KVBM_DISK_CACHE_DIR`, `DYN_KVBM_METRICS`, `DYN_KVBM_METRICS_PORT`) and LMCache's
environment configuration (`LMCACHE_*`). In disaggregated graphs the offload
connector runs on the prefill workers only, stacked with NIXL through Dynamo's `PdConnector`; decode workers keep
plain NIXL (the pattern of Dynamo's `disagg_kvbm.sh` / `disagg_lmcache.sh`).
"""

from __future__ import annotations

import json
from typing import Any

from components.observability.monitors import KVBM_METRICS_PORT
from components.spec.serving import ModelSpec

KV_DISK_VOLUME = "kv-disk"
KV_DISK_MOUNT = "/kv-disk"
KVBM_MODULE = "kvbm.vllm_integration.connector"
NIXL_VLLM: dict[str, Any] = {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
KVBM_VLLM: dict[str, Any] = {
    "kv_connector": "DynamoConnector",
    "kv_connector_module_path": KVBM_MODULE,
    "kv_role": "kv_both",
}
LMCACHE_VLLM: dict[str, Any] = {"kv_connector": "LMCacheConnectorV1", "kv_role": "kv_both"}
LMCACHE_CHUNK_TOKENS = 256  # LMCache default chunk size


def offloads(model: ModelSpec, role: str) -> bool:
    """Whether this worker role runs the offload connector (all aggregated workers; prefill when disaggregated)."""
    return model.kv_cache.connector != "none" and role in ("worker", "prefill")


def transfers(model: ModelSpec) -> bool:
    return model.mode == "disaggregated"


def nixl_vllm(backend: str = "UCX") -> dict[str, Any]:
    """vLLM's NixlConnector; a backend other than NIXL's default UCX goes in `kv_connector_extra_config.backends`
    (vLLM 0.26 kv_connector/v1/nixl/base_worker.py:261 reads it, default ["UCX"])."""
    cfg = dict(NIXL_VLLM)
    if backend != "UCX":
        cfg["kv_connector_extra_config"] = {"backends": [backend]}
    return cfg


def vllm_kv_transfer_config(model: ModelSpec, role: str, nixl_backend: str = "UCX") -> dict[str, Any] | None:
    """vLLM `--kv-transfer-config` for one worker role, or None when the worker needs no connector."""
    offload = (
        {"kvbm": KVBM_VLLM, "lmcache": LMCACHE_VLLM}.get(model.kv_cache.connector) if offloads(model, role) else None
    )
    if not transfers(model):
        return dict(offload) if offload else None
    if offload is None:
        return nixl_vllm(nixl_backend)
    return {
        "kv_connector": "PdConnector",
        "kv_role": "kv_both",
        "kv_connector_extra_config": {"connectors": [dict(offload), nixl_vllm(nixl_backend)]},
        "kv_connector_module_path": KVBM_MODULE,
    }


def trtllm_engine_overrides(model: ModelSpec, role: str) -> dict[str, Any]:
    """TensorRT-LLM LLM-API overrides (`--override-engine-args`): NIXL cache transceiver, the KVBM connector, and no
    overlap scheduler on prefill workers (Dynamo's TensorRT-LLM prefill configs: "Overlap scheduler not currently
    supported in prefill only workers", examples/backends/trtllm/engine_configs/*/prefill.yaml)."""
    out: dict[str, Any] = {}
    if transfers(model):
        out["cache_transceiver_config"] = {"backend": "NIXL"}
    if transfers(model) and role == "prefill":
        out["disable_overlap_scheduler"] = True
    if offloads(model, role) and model.kv_cache.connector == "kvbm":
        out["kv_connector_config"] = {
            "connector_module": "kvbm.trtllm_integration.connector",
            "connector_scheduler_class": "DynamoKVBMConnectorLeader",
            "connector_worker_class": "DynamoKVBMConnectorWorker",
        }
        out["kv_cache_config"] = {"enable_partial_reuse": False}  # KVBM guide: more offload hits
    return out


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


def kv_env(model: ModelSpec, role: str) -> list[dict[str, str]]:
    """Environment of the offload connector for one worker role (empty when the role does not offload)."""
    if not offloads(model, role):
        return []
    kv = model.kv_cache
    env: dict[str, str] = {}
    if kv.connector == "kvbm":
        # KVBM serves its own metrics (kvbm_*) on a separate port; the observability layer scrapes it.
        env["DYN_KVBM_METRICS"] = "true"
        env["DYN_KVBM_METRICS_PORT"] = str(KVBM_METRICS_PORT)
        if kv.cpu_gi:
            env["DYN_KVBM_CPU_CACHE_GB"] = str(kv.cpu_gi)
        if kv.disk_gi:
            env["DYN_KVBM_DISK_CACHE_GB"] = str(kv.disk_gi)
            env["DYN_KVBM_DISK_CACHE_DIR"] = KV_DISK_MOUNT
        # No G4 object tier: KVBM 1.4.0 reads no object-store variable (the `kv-object-store` rule rejects
        # kvCache.objectStore for a release without one, components/catalog/dynamo.py `kvbm_object_tier`).
    elif kv.connector == "lmcache":
        env["LMCACHE_CHUNK_SIZE"] = str(LMCACHE_CHUNK_TOKENS)
        if kv.cpu_gi:
            env["LMCACHE_LOCAL_CPU"] = "True"
            env["LMCACHE_MAX_LOCAL_CPU_SIZE"] = str(kv.cpu_gi)
        if kv.disk_gi:
            env["LMCACHE_LOCAL_DISK"] = f"file://{KV_DISK_MOUNT}/"
            env["LMCACHE_MAX_LOCAL_DISK_SIZE"] = str(kv.disk_gi)
    return [{"name": k, "value": v} for k, v in env.items()]


def kv_disk_volume(storage_class: str, size_gi: int, name: str = KV_DISK_VOLUME) -> dict[str, Any]:
    """The pod volume of a KV disk tier: a generic ephemeral volume of the pool's local NVMe StorageClass (the
    storage layer's `StorageOutputs.kv_disk_classes`).

    Mount it in the worker container and point the KV connector's disk path at the mount; the directory is created
    on the node the pod is scheduled to and removed with the pod.
    """
    return {
        "name": name,
        "ephemeral": {
            "volumeClaimTemplate": {
                "metadata": {"labels": {"inference-ra.nvidia.com/volume": name}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class,
                    "resources": {"requests": {"storage": f"{size_gi}Gi"}},
                },
            }
        },
    }


def needs_disk(model: ModelSpec, role: str) -> bool:
    return offloads(model, role) and model.kv_cache.disk_gi > 0
