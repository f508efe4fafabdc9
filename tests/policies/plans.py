"""Small synthetic resources in plan.json form, and a helper that writes a minimal plan directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.constants import GPU_TOLERATION
from policies.registry import Resource

STACK = "violating"
PROJECT = "inference-ra"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def k8s(api_version: str, kind: str, name: str, namespace: str | None = None, **fields: Any) -> dict[str, Any]:
    """A Kubernetes object as plan.json `inputs` (engine form)."""
    group, _, version = api_version.rpartition("/")
    type_ = f"kubernetes:{group or 'core'}/{version}:{kind}"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    res_name = f"{namespace}/{name}" if namespace else name
    return {
        "urn": urn(type_, res_name),
        "type": type_,
        "name": res_name,
        "parent": "",
        "provider": "",
        "dependsOn": [],
        "protect": False,
        "retainOnDelete": False,
        "inputs": {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields},
    }


def aws(type_: str, name: str, inputs: dict[str, Any], *, protect: bool = False, depends_on: list[str] | None = None):
    return {
        "urn": urn(type_, name),
        "type": type_,
        "name": name,
        "parent": "",
        "provider": "",
        "dependsOn": depends_on or [],
        "protect": protect,
        "retainOnDelete": False,
        "inputs": inputs,
    }


HARDENED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def container(name: str = "main", image: str = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0", **extra: Any):
    c: dict[str, Any] = {
        "name": name,
        "image": image,
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
        "securityContext": dict(HARDENED),  # what components/podsecurity.py renders (pod-hardening)
    }
    c.update(extra)
    return c


def gpu_container(gpus: int = 1, extra_limits: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    c = container(**extra)
    c["resources"]["limits"].update({"nvidia.com/gpu": gpus, **(extra_limits or {})})
    return c


def deployment(name: str = "app", namespace: str = "dynamo", pod: dict[str, Any] | None = None) -> dict[str, Any]:
    pod = pod if pod is not None else {"containers": [container()]}
    return k8s(
        "apps/v1",
        "Deployment",
        name,
        namespace,
        spec={"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {}, "spec": pod}},
    )


def dgd(name: str = "llama", namespace: str = "dynamo", components: list[dict[str, Any]] | None = None):
    return k8s("nvidia.com/v1beta1", "DynamoGraphDeployment", name, namespace, spec={"components": components or []})


def component(name: str, type_: str, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": type_,
        "replicas": 1,
        "podTemplate": {"spec": {"containers": containers, "tolerations": [GPU_TOLERATION]}},
        **extra,
    }


def as_resource(entry: dict[str, Any]) -> Resource:
    return Resource(
        entry["type"], entry["inputs"], entry["urn"], entry["name"], entry["protect"], tuple(entry["dependsOn"])
    )


def write_plan(directory: Path, resources: list[dict[str, Any]], stack: str = STACK) -> Path:
    """A minimal plan directory (`plan.json` only) for `inference-ra check --plan`."""
    directory.mkdir(parents=True, exist_ok=True)
    doc = {"project": PROJECT, "stack": stack, "resources": sorted(resources, key=lambda r: r["urn"])}
    (directory / "plan.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return directory


def violations(rule: str, *entries: dict[str, Any], **config: Any) -> list[str]:
    """Messages of one rule over synthetic plan entries, with the rule's default config updated by `config`."""
    from policies.registry import resolve
    from policies.runner import evaluate

    settings = resolve(config={rule: config} if config else None)
    levels = {name: ("mandatory" if name == rule else "disabled") for name in settings.levels}
    from policies.registry import Settings

    only = Settings(levels, settings.configs)  # type: ignore[arg-type]
    return [f"{f.resource}: {f.message}" for f in evaluate([as_resource(e) for e in entries], only)]
