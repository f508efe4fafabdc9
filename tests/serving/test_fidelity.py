"""The three upstream Dynamo examples, expressed as specs: the rendered graph must match each upstream manifest in
what matters (components and roles, replicas, GPUs, nodes, parallelism, disaggregation mode, KV connector, router)."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.serving.conftest import graph_for, make_spec

EXAMPLES = Path(os.environ.get("INFERENCE_RA_CRD_DIR", "/work/shared/upstream/crds")).parent / "examples" / "dynamo"
pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"upstream examples not found at {EXAMPLES}")

QWEN3_06B = {  # Hugging Face config.json of Qwen/Qwen3-0.6B
    "paramsB": 0.6,
    "layers": 28,
    "hiddenSize": 1024,
    "attentionHeads": 16,
    "kvHeads": 8,
    "headDim": 128,
    "maxContext": 40960,
}


def _flag(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def _summary(dgd: dict[str, Any]) -> dict[str, Any]:
    """Role -> the fields that define the serving topology, for v1beta1 (components) and v1alpha1 (services)."""
    out: dict[str, Any] = {}
    if "components" in dgd["spec"]:
        items = [(c.get("type"), c, c["podTemplate"]["spec"]["containers"][0]) for c in dgd["spec"]["components"]]
    else:
        items = []
        for svc in dgd["spec"]["services"].values():
            role = svc.get("subComponentType") or svc["componentType"]
            items.append((role, svc, svc["extraPodSpec"]["mainContainer"]))
    for role, comp, main in items:
        args = [str(a) for a in main.get("args", [])]
        if main.get("command") == ["/bin/sh", "-c"]:
            args = shlex.split(args[0])
        limits = (main.get("resources") or {}).get("limits") or (comp.get("resources") or {}).get("limits") or {}
        gpus = int(limits.get("nvidia.com/gpu") or limits.get("gpu") or 0)
        if role == "frontend":
            out[role] = {"replicas": comp.get("replicas", 1), "router": _flag(args, "--router-mode", "round-robin")}
            continue
        kv = _flag(args, "--kv-transfer-config")
        out[role] = {
            "replicas": comp.get("replicas", 1),
            "gpusPerPod": gpus,
            "nodes": (comp.get("multinode") or {}).get("nodeCount", 1),
            "tp": int(_flag(args, "--tensor-parallel-size", "1") or 1),
            "disaggregationMode": _flag(args, "--disaggregation-mode"),
            "kvConnector": json.loads(kv)["kv_connector"] if kv else None,
            "blockSize": _flag(args, "--block-size"),
        }
    return out


def _upstream(name: str) -> dict[str, Any]:
    return _summary(yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8")))


def _render(**kw: Any) -> dict[str, Any]:
    spec = make_spec(**kw)
    return _summary(graph_for(spec))


def test_vllm_disagg_example() -> None:
    rendered = _render(
        model={
            "model": "Qwen/Qwen3-0.6B",
            "architecture": QWEN3_06B,
            "mode": "disaggregated",
            "worker": None,
            "prefill": {"tensorParallel": 1, "replicas": 1},
            "decode": {"tensorParallel": 1, "replicas": 1},
            "router": "round-robin",
            "blockSize": 16,
        }
    )
    up = _upstream("vllm-disagg.yaml")
    for role in ("prefill", "decode"):
        up[role]["blockSize"] = rendered[role]["blockSize"]  # upstream leaves the engine default
    assert rendered == up
    assert rendered["decode"]["kvConnector"] == "NixlConnector"


def test_vllm_disagg_multinode_example() -> None:
    # upstream: tensor parallel 2 spread over two 1-GPU nodes per replica -> a 1-GPU EFA instance type
    rendered = _render(
        gpuPools=[{"name": "h100", "gpu": "l40s-48gb", "instanceType": "g6e.8xlarge", "nodes": {"min": 2, "max": 8}}],
        dynamo={"grove": True},
        model={
            "model": "Qwen/Qwen3-0.6B",
            "architecture": QWEN3_06B,
            "mode": "disaggregated",
            "worker": None,
            "prefill": {"tensorParallel": 2, "replicas": 1, "multinode": True},
            "decode": {"tensorParallel": 2, "replicas": 1, "multinode": True},
            "router": "round-robin",
        },
    )
    up = _upstream("vllm-disagg-multinode.yaml")
    for role in ("prefill", "decode"):
        up[role]["blockSize"] = rendered[role]["blockSize"]
    assert rendered == up
    assert rendered["prefill"]["nodes"] == 2 and rendered["prefill"]["gpusPerPod"] == 1


def test_llama_3_70b_disagg_single_node_example() -> None:
    rendered = _render(
        model={
            "model": "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
            "architecture": "llama-3.3-70b",
            "weightsDtype": "fp8",
            "mode": "disaggregated",
            "worker": None,
            "prefill": {"tensorParallel": 2, "replicas": 2, "extraArgs": ["--no-enable-prefix-caching"]},
            "decode": {"tensorParallel": 4, "replicas": 1, "extraArgs": ["--no-enable-prefix-caching"]},
            "router": "round-robin",
            "blockSize": 128,
            "gpuMemoryUtilization": 0.9,
        }
    )
    up = _upstream("llama-3-70b-vllm-disagg-single-node.yaml")
    # the v1alpha1 recipe's decode worker predates --disaggregation-mode (its role came from subComponentType)
    assert up["decode"]["disaggregationMode"] is None
    up["decode"]["disaggregationMode"] = "decode"
    assert rendered == up
    assert rendered["prefill"] == {
        "replicas": 2,
        "gpusPerPod": 2,
        "nodes": 1,
        "tp": 2,
        "disaggregationMode": "prefill",
        "kvConnector": "NixlConnector",
        "blockSize": "128",
    }
