"""docs/serving.md names the upstream reader of every flag, environment variable and config key serving renders: the
table covers exactly what the shipped stacks and a matrix of specs render (each engine, mode, KV connector, fabric,
token, autoscaling and the gateway path), and every row names a reader."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import shipped_plan
from tests.serving.conftest import graph_for, make_spec
from tests.serving.rendered import graph_names, plan_names

DOC = Path(__file__).resolve().parents[2] / "docs" / "serving.md"
SECTION = "## Rendered fields and their readers"
DISAGG = {
    "model": "meta-llama/Llama-3.1-70B-Instruct",
    "architecture": "llama-3.1-70b",
    "mode": "disaggregated",
    "worker": None,
    "prefill": {"tensorParallel": 2},
    "decode": {"tensorParallel": 4},
}
EFA_IMAGES = {"images": {"sglang-efa": "registry.example/sglang:1.4.0-efa", "trtllm-efa": "registry.example/trt:efa"}}
ROCE = {
    "cluster": {"provider": "existing", "name": "roce-lab", "kubernetesVersion": "1.33", "nodeOs": "ubuntu-24.04"},
    "network": {
        "fabric": {
            "type": "roce",
            "devices": [f"mlx5_{i}" for i in range(8)],
            "interfaces": [f"ens{i}f0np0" for i in range(8)],
            "gidIndex": 3,
        }
    },
    "gpuPools": [{"name": "h100", "gpu": "h100-sxm-80gb", "instanceType": "dgx-h100", "nodes": {"min": 1, "max": 2}}],
}


def matrix() -> list[Any]:
    return [
        make_spec(model={"kvCache": {"connector": "kvbm", "cpuGi": 100, "diskGi": 500}, "blockSize": 32}),
        make_spec(model={"kvCache": {"connector": "lmcache", "cpuGi": 100, "diskGi": 500}, "tokenSecret": "ngc"}),
        make_spec(model={**DISAGG, "kvCache": {"connector": "kvbm", "cpuGi": 100}}),
        make_spec(
            model={
                "engine": "sglang",
                "kvCache": {"connector": "lmcache", "cpuGi": 100},
                "worker": {"tensorParallel": 2, "dataParallel": 2, "pipelineParallel": 2},
                "blockSize": 64,
                "kvDtype": "fp8",
                "maxModelLen": 8192,
            }
        ),
        make_spec(model={**DISAGG, "engine": "sglang"}, dynamo=EFA_IMAGES),
        make_spec(
            model={
                **DISAGG,
                "engine": "trtllm",
                "model": "openai/gpt-oss-120b",
                "architecture": "gpt-oss-120b",
                "weightsDtype": "mxfp4",
                "kvCache": {"connector": "kvbm", "cpuGi": 100},
                "blockSize": 32,
                "maxModelLen": 8192,
                "prefill": {"tensorParallel": 4, "pipelineParallel": 2},
                "decode": {"tensorParallel": 4, "dataParallel": 2, "expertParallel": True},
            },
            dynamo=EFA_IMAGES,
        ),
        make_spec(
            model={
                "model": "openai/gpt-oss-120b",
                "architecture": "gpt-oss-120b",
                "weightsDtype": "mxfp4",
                "kvDtype": "fp8",
                "maxModelLen": 8192,
                "worker": {"tensorParallel": 2, "pipelineParallel": 2, "dataParallel": 2, "expertParallel": True},
            }
        ),
        make_spec(model=DISAGG, routing={"inferenceGateway": True}),
        make_spec(routing={"inferenceGateway": True}),
        make_spec(**ROCE, model={**DISAGG, "router": "round-robin"}),
    ]


def rendered() -> set[str]:
    names: set[str] = set()
    for stack in ("dev", "aws-h100", "ncp-ib"):
        names |= plan_names(shipped_plan(stack))
    for spec in matrix():
        names |= graph_names(graph_for(spec))
    return names


def table() -> dict[str, tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    assert SECTION in text, f"{DOC} has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in body.splitlines():
        m = re.match(r"^\| `([^`]+)` \| (.*) \| (.*) \|$", line)
        if m:
            assert m.group(1) not in rows, f"duplicate row {m.group(1)}"
            rows[m.group(1)] = (m.group(2).strip(), m.group(3).strip())
    return rows


def test_every_rendered_field_has_a_reader_row() -> None:
    missing = sorted(rendered() - set(table()))
    assert missing == [], "rendered without a reader row in docs/serving.md"


def test_every_reader_row_is_rendered() -> None:
    stale = sorted(set(table()) - rendered())
    assert stale == [], "rows in docs/serving.md that nothing renders (remove them, or render and test them)"


def test_every_row_names_a_rule_and_a_reader() -> None:
    assert [k for k, (rule, reader) in table().items() if not rule or not reader] == []


def test_the_check_fails_on_an_undocumented_flag() -> None:
    spec = make_spec(model={"worker": {"extraArgs": []}})
    dgd = graph_for(spec)
    worker = next(c for c in dgd["spec"]["components"] if c["name"] == "worker")
    worker["podTemplate"]["spec"]["containers"][0]["args"].append("--no-such-reader")
    assert "--no-such-reader" in graph_names(dgd) - set(table())
