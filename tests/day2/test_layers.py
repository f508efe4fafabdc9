"""Layered stacks: the split into infra / platform / serving follows the program's hand-offs, `synth --layer`
renders each part, and a serving change cannot change, replace or delete an infra resource (shown on aws-h100)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from components.platform import LAYERS
from stacks.cli import app
from stacks.diff import diff_plans
from stacks.layers import LAYER_STACK, LAYER_STACKS, crossings, lands_in, order_problems, split_plan, stack_of
from tests.conftest import shipped_plan, stack_config, stack_file_from

runner = CliRunner()


def test_every_program_layer_belongs_to_one_layer_stack_in_order() -> None:
    assert sorted(LAYER_STACK) == sorted(name for name, _ in LAYERS)
    assert set(LAYER_STACK.values()) == set(LAYER_STACKS)
    assert order_problems() == []


def test_stack_reference_contract_is_what_the_code_reads() -> None:
    found = {(c.consumer, c.producer, c.field, c.kind) for c in crossings()}
    assert ("platform", "infra", "ClusterOutputs.k8s_provider", "resource") in found
    assert ("serving", "infra", "StorageOutputs.model_cache_claims", "resource") in found
    assert ("serving", "platform", "FabricOutputs.profiles", "value") in found
    assert ("serving", "platform", "ObservabilityOutputs.prometheus_url", "value") in found
    assert not any(c.consumer == "infra" for c in crossings())  # infra reads nothing from later stacks


def test_split_plans_partition_the_whole_plan() -> None:
    plan = shipped_plan("aws-h100")
    parts = {layer: split_plan(plan, layer) for layer in LAYER_STACKS}
    own = {
        layer: {r.urn for r in p.plan.resources if not r.type.startswith("pulumi:providers:")}
        - {r.urn for r in plan.resources if r.type == "inference-ra:index:InferencePlatform"}
        for layer, p in parts.items()
    }
    whole = {r.urn for r in plan.resources if not r.type.startswith("pulumi:providers:")} - {
        r.urn for r in plan.resources if r.type == "inference-ra:index:InferencePlatform"
    }
    assert set().union(*own.values()) == whole
    assert sum(len(v) for v in own.values()) == len(whole)
    types = {layer: {r.type for r in p.plan.resources} for layer, p in parts.items()}
    assert "aws:eks/cluster:Cluster" in types["infra"] and "aws:fsx/lustreFileSystem:LustreFileSystem" in types["infra"]
    assert not any(t.startswith("aws:") for t in types["platform"] | types["serving"])
    assert "kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment" in types["serving"]
    assert "kubernetes:helm.sh/v4:Chart" in types["platform"]  # kube-prometheus-stack, Dynamo platform's Prometheus
    # every later stack talks to the cluster through the provider infra created (its endpoint is infra's output)
    assert all("pulumi:providers:kubernetes" in types[layer] for layer in ("platform", "serving"))
    assert parts["infra"].cross_stack == ()
    for layer in ("platform", "serving"):
        urns = {r.urn for r in parts[layer].plan.resources}
        assert all(dep in urns for r in parts[layer].plan.resources for dep in r.depends_on)
        assert all(stack_of_layer(dep) != layer for _, dep in parts[layer].cross_stack)


def stack_of_layer(urn: str) -> str:
    from stacks.layers import stack_of_urn

    return stack_of_urn(urn)


def _plan(cfg: dict[str, Any]) -> dict[str, Any]:
    from stacks.engine import synth

    return synth(stack_file_from(cfg, "aws-h100")).to_json()


def _first_model(change: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], None]:
    def apply(cfg: dict[str, Any]) -> None:
        change(cfg["serving"]["models"][0])

    return apply


def _add_model(cfg: dict[str, Any]) -> None:
    extra = copy.deepcopy(cfg["serving"]["models"][0])
    extra["name"] = "llama-70b-b"
    extra.pop("benchmark", None)
    cfg["serving"]["models"].append(extra)


SERVING_CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "decode replicas": _first_model(lambda m: m["decode"].update(replicas=2)),
    "context length": _first_model(lambda m: m.update(maxModelLen=16384)),
    "SLO": _first_model(lambda m: m["slo"].update(ttftMs=400, itlMs=25)),
    "autoscaling bounds": _first_model(lambda m: m["autoscaling"].update(maxReplicas=4)),
    "benchmark sweep": _first_model(lambda m: m["benchmark"].update(concurrency=[1, 8])),
    "router": _first_model(lambda m: m.update(router="round-robin")),
    "second model in the same namespace": _add_model,
}


@pytest.fixture(scope="module")
def aws_base() -> dict[str, Any]:
    return _plan(stack_config("aws-h100"))


@pytest.mark.parametrize("name", sorted(SERVING_CHANGES))
def test_serving_change_cannot_replace_an_infra_resource(name: str, aws_base: dict[str, Any]) -> None:
    cfg = stack_config("aws-h100")
    SERVING_CHANGES[name](cfg)
    d = diff_plans(aws_base, _plan(cfg))
    assert d.changes, "the change must change something"
    infra = [(c.action, c.urn) for c in d.changes if stack_of(c.layer) == "infra"]
    assert infra == []
    assert d.destructive == []
    assert set(lands_in(d.changes)) <= {"platform", "serving"}


def test_model_owning_its_namespace_reaches_infra_and_diff_says_so(aws_base: dict[str, Any]) -> None:
    """The boundary of the claim above: a model in a namespace of its own brings that namespace and its model cache
    (infra: namespaces, storage). Removing it deletes them, and `diff` says it lands in infra, destructively."""
    cfg = stack_config("aws-h100")
    _add_model(cfg)
    cfg["serving"]["models"][1]["namespace"] = "team-x"
    with_team = _plan(cfg)
    removed = diff_plans(with_team, aws_base)
    assert lands_in(removed.changes)["infra"] > 0
    assert {x.urn.rsplit("::", 1)[-1] for x in removed.destructive} == {"model-cache-team-x", "team-x/model-cache"}


def test_synth_layer_writes_one_layer_stack(tmp_path: Path) -> None:
    out = tmp_path / "serving"
    result = runner.invoke(app, ["synth", "aws-h100", "--layer", "serving", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "plan.json").read_text())
    assert doc["stack"] == "aws-h100-serving"
    assert {
        stack_of_layer(r["urn"])
        for r in doc["resources"]
        if r["type"].startswith("kubernetes:") and not r["type"].startswith("kubernetes:helm")
    } == {"serving"}
    assert (out / "manifests" / "dynamo" / "DynamoGraphDeployment-llama-70b.yaml").is_file()
    assert not (out / "manifests" / "dynamo" / "PersistentVolumeClaim-model-cache.yaml").exists()


def test_synth_rejects_an_unknown_layer(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "aws-h100", "--layer", "models", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--layer must be one of infra, platform, serving" in result.output
    assert not (tmp_path / "o").exists()


def test_diff_says_which_stack_a_change_lands_in(tmp_path: Path) -> None:
    import yaml

    from components.loader import read_stack_file

    cfg = stack_config("aws-h100")
    SERVING_CHANGES["SLO"](cfg)
    head_file = tmp_path / "head-stack" / "Pulumi.aws-h100.yaml"
    head_file.parent.mkdir()
    region = read_stack_file("aws-h100").config["aws:region"]
    config = {"aws:region": region, **{f"inference-ra:{k}": v for k, v in cfg.items()}}
    head_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False))  # tag order reaches the provider
    for side, stack in (("base", "aws-h100"), ("head", str(head_file))):
        assert runner.invoke(app, ["synth", stack, "--out", str(tmp_path / side / "aws-h100")]).exit_code == 0
    result = runner.invoke(app, ["diff", "--base", str(tmp_path / "base"), "--head", str(tmp_path / "head")])
    assert result.exit_code == 0, result.output
    assert "aws-h100: +0 -0 ~" in result.output and "(lands in: platform 2, serving 2)" in result.output
    assert "  ~ [platform] " in result.output and "  ~ [serving] " in result.output
    md = runner.invoke(
        app, ["diff", "--base", str(tmp_path / "base"), "--head", str(tmp_path / "head"), "--format", "markdown"]
    ).output
    assert "| aws-h100 | observability | platform |" in md and "| aws-h100 | serving | serving |" in md


def test_docs_list_every_stack_reference_field() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "layers.md").read_text()
    for c in crossings():
        assert f"| {c.consumer} | {c.producer} | `{c.field}` | {c.kind} |" in docs, c
