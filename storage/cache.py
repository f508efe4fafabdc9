"""The shared model cache: one RWX claim named MODEL_CACHE_CLAIM in every namespace that hosts models, the token
Secrets, and one prefetch Job per checkpoint. Pure builders of manifests; storage/layer.py registers them.

Backings (in order of preference):
- FSx for Lustre (aws): a static PV per namespace on the same filesystem (same volumeHandle), pre-bound by claimRef.
- a CSI parallel filesystem (bare metal): a static PV per namespace on the same directory (storage/profiles.py).
- `modelCache.storageClass`: a dynamically provisioned claim per namespace; each namespace then has its own cache,
  so a checkpoint is prefetched once per namespace that serves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components import k8s as kobj
from components import podsecurity
from components.catalog import IMAGES
from components.catalog.versions import PREFETCH_CLIENTS
from components.constants import HF_HOME, HF_TOKEN_SECRET, MODEL_CACHE_CLAIM, MODEL_CACHE_MOUNT, NGC_TOKEN_SECRET
from components.namespaces import model_namespace
from components.spec import StackSpec
from components.spec.storage import PrefetchSpec
from storage import profiles

CACHE_NAMESPACE = "model-cache"  # home of prefetch Jobs no served model uses
PREFETCH_SA = "model-prefetch"  # writes the cache (and, on aws, the model bucket)
READER_SA = "model-reader"  # what serving pods may use to read the model bucket (aws)
SCRIPT_CONFIGMAP = "model-prefetch"
LABELS = {"app.kubernetes.io/part-of": "inference-ra", "inference-ra.nvidia.com/component": "model-cache"}
TOKEN_KEYS = {"hf": ("hfToken", HF_TOKEN_SECRET, "HF_TOKEN"), "ngc": ("ngcToken", NGC_TOKEN_SECRET, "NGC_API_KEY")}


def prefetch_entries(spec: StackSpec) -> list[PrefetchSpec]:
    return [p if isinstance(p, PrefetchSpec) else PrefetchSpec(uri=p) for p in spec.storage.model_cache.prefetch]


def shared_across_namespaces(spec: StackSpec) -> bool:
    """True when every namespace's claim is a view of the same directory (static PVs on one filesystem)."""
    return spec.storage.parallel_fs.type != "none" and not spec.storage.model_cache.storage_class


def prefetch_placements(spec: StackSpec) -> list[tuple[PrefetchSpec, str]]:
    """(checkpoint, namespace) of every prefetch Job: where a model serving it runs, else `model-cache`.

    On a shared filesystem one Job per checkpoint suffices (the first serving namespace); with per-namespace
    dynamic claims every serving namespace needs its own copy.
    """
    out: list[tuple[PrefetchSpec, str]] = []
    for entry in prefetch_entries(spec):
        namespaces = [model_namespace(spec, m.name) for m in spec.serving.models if m.model == entry.uri]
        namespaces = list(dict.fromkeys(namespaces)) or [CACHE_NAMESPACE]
        if shared_across_namespaces(spec):
            namespaces = namespaces[:1]
        out += [(entry, ns) for ns in namespaces]
    return out


def cache_namespaces(spec: StackSpec) -> list[str]:
    """Namespaces that get a model-cache claim: model and Triton namespaces, plus any prefetch-only namespace."""
    names = [model_namespace(spec, m.name) for m in spec.serving.models]
    names += [t.namespace for t in spec.serving.triton]
    names += [ns for _, ns in prefetch_placements(spec)]
    return sorted(set(names))


def token_namespaces(spec: StackSpec) -> dict[str, list[str]]:
    """Token kind ('hf'/'ngc') -> namespaces whose workers or prefetch Jobs read it."""
    out: dict[str, set[str]] = {"hf": set(), "ngc": set()}
    for m in spec.serving.models:
        if m.token_secret in out:
            out[m.token_secret].add(model_namespace(spec, m.name))
    for entry, ns in prefetch_placements(spec):
        if entry.source in out:
            out[entry.source].add(ns)
    return {k: sorted(v) for k, v in out.items() if v}


def token_secret(kind: str, namespace: str, value: Any) -> kobj.Manifest:
    _, name, key = TOKEN_KEYS[kind]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": kobj.metadata(name, namespace, LABELS),
        "type": "Opaque",
        "stringData": {key: value},
    }


def pv_name(namespace: str) -> str:
    return f"{MODEL_CACHE_CLAIM}-{namespace}"


def static_pv(spec: StackSpec, namespace: str, csi: dict[str, Any], storage_class: str) -> kobj.Manifest:
    """A static PV of the shared cache for one namespace, pre-bound to that namespace's claim and retained."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": kobj.metadata(pv_name(namespace), labels=LABELS),
        "spec": {
            "capacity": {"storage": f"{spec.storage.model_cache.size_gi}Gi"},
            "volumeMode": "Filesystem",
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": storage_class,
            "mountOptions": mount_options(spec),
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": namespace,
                "name": MODEL_CACHE_CLAIM,
            },
            "csi": csi,
        },
    }


def mount_options(spec: StackSpec) -> list[str]:
    fs = spec.storage.parallel_fs
    if fs.type == "fsx-lustre":
        return ["flock", *[o for o in fs.csi.mount_options if o != "flock"]]
    return profiles.mount_options(fs)


def fsx_csi(fs_id: Any, dns_name: Any, mount_name: Any) -> dict[str, Any]:
    return {
        "driver": profiles.FSX_DRIVER,
        "volumeHandle": fs_id,
        "volumeAttributes": {"dnsname": dns_name, "mountname": mount_name},
    }


def claim(spec: StackSpec, namespace: str, storage_class: str, volume_name: str | None) -> kobj.Manifest:
    cache = spec.storage.model_cache
    body: dict[str, Any] = {
        "accessModes": [cache.access_mode],
        "storageClassName": storage_class,
        "resources": {"requests": {"storage": f"{cache.size_gi}Gi"}},
    }
    if volume_name:
        body["volumeName"] = volume_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": kobj.metadata(MODEL_CACHE_CLAIM, namespace, LABELS),
        "spec": body,
    }


def service_account(name: str, namespace: str, role_arn: Any = None) -> kobj.Manifest:
    ann = {"eks.amazonaws.com/role-arn": role_arn} if role_arn is not None else None
    return podsecurity.service_account(name, namespace, api_access=False, labels=LABELS, annotations=ann)


def script_configmap(namespace: str) -> kobj.Manifest:
    from storage.prefetch import SCRIPT

    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": kobj.metadata(SCRIPT_CONFIGMAP, namespace, LABELS),
        "data": {"prefetch.py": SCRIPT.lstrip()},
    }


def job_name(entry: PrefetchSpec) -> str:
    """`prefetch-<id>`: the checkpoint id, DNS-safe, at most 63 characters (a Job name labels its pods)."""
    import hashlib
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", entry.uri.lower().removeprefix("s3://")).strip("-")
    name = f"prefetch-{slug}"
    if len(name) > 63:
        name = f"{name[:54].rstrip('-')}-{hashlib.sha256(entry.uri.encode()).hexdigest()[:8]}"
    return name


@dataclass(frozen=True)
class JobSettings:
    backoff_limit: int = 4  # pod restarts on top of the in-process retries
    active_deadline_s: int = 6 * 3600  # a 700 GB checkpoint at ~50 MB/s of hub throughput takes ~4h


def prefetch_job(entry: PrefetchSpec, namespace: str, settings: JobSettings = JobSettings()) -> kobj.Manifest:
    env: list[dict[str, Any]] = [
        {"name": "PREFETCH_SOURCE", "value": entry.source},
        {"name": "PREFETCH_URI", "value": entry.uri},
        {"name": "PREFETCH_REVISION", "value": entry.revision},
        {"name": "PREFETCH_CLIENTS", "value": " ".join(PREFETCH_CLIENTS[entry.source])},
        {"name": "MODEL_CACHE", "value": MODEL_CACHE_MOUNT},
        {"name": "HF_HOME", "value": HF_HOME},
        {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
    ]
    if entry.source in TOKEN_KEYS:
        _, secret, key = TOKEN_KEYS[entry.source]
        var = "HF_TOKEN" if entry.source == "hf" else "NGC_CLI_API_KEY"
        env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": True}}})
    labels = {**LABELS, "inference-ra.nvidia.com/prefetch": job_name(entry)[len("prefetch-") :][:63]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": kobj.metadata(
            job_name(entry), namespace, labels, {"inference-ra.nvidia.com/checkpoint": f"{entry.uri}@{entry.revision}"}
        ),
        "spec": {
            "backoffLimit": settings.backoff_limit,
            "activeDeadlineSeconds": settings.active_deadline_s,
            "template": {
                "metadata": {"labels": labels},
                "spec": podsecurity.secure_pod(
                    {
                        "restartPolicy": "OnFailure",
                        "containers": [
                            {
                                "name": "prefetch",
                                "image": IMAGES["prefetch"],
                                "command": ["python", "/opt/prefetch/prefetch.py"],
                                "env": env,
                                "resources": {
                                    "requests": {"cpu": "2", "memory": "4Gi"},
                                    "limits": {"memory": "8Gi"},
                                },
                                "volumeMounts": [
                                    {"name": "model-cache", "mountPath": MODEL_CACHE_MOUNT},
                                    {"name": "script", "mountPath": "/opt/prefetch", "readOnly": True},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "model-cache", "persistentVolumeClaim": {"claimName": MODEL_CACHE_CLAIM}},
                            {"name": "script", "configMap": {"name": SCRIPT_CONFIGMAP}},
                        ],
                    },
                    service_account=PREFETCH_SA,  # IRSA on aws (the webhook projects its own token), no API access
                    api_access=False,
                ),
            },
        },
    }
