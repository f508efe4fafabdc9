"""CLI exit codes and outputs (DESIGN.md ★ CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stacks.cli import app
from tests.conftest import stack_config, write_stack

runner = CliRunner()


def test_synth_writes_plan(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    result = runner.invoke(app, ["synth", "dev", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "plan.json").is_file() and (out / "report.md").is_file()
    assert (out / "manifests" / "_cluster" / "Namespace-dynamo.yaml").is_file()
    assert "resources" in result.output


def test_synth_bad_config_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    cfg = stack_config("dev")
    cfg["gpuPools"][0]["nodes"]["max"] = "many"
    cfg["cluster"]["bogus"] = 1
    stack = write_stack(tmp_path, cfg, "broken")
    out = tmp_path / "out" / "broken"
    result = runner.invoke(app, ["synth", str(stack), "--out", str(out)])
    assert result.exit_code == 2
    assert "inference-ra:cluster.bogus: unknown key" in result.output
    assert "inference-ra:gpuPools[0].nodes.max" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "out").exists()


def test_synth_unknown_stack_exits_2() -> None:
    result = runner.invoke(app, ["synth", "no-such-stack"])
    assert result.exit_code == 2
    assert "unknown stack" in result.output


def test_synth_keeps_previous_output_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    assert runner.invoke(app, ["synth", "dev", "--out", str(out)]).exit_code == 0
    before = (out / "plan.json").read_bytes()
    cfg = stack_config("dev")
    cfg["cluster"]["provider"] = "gcp"
    bad = write_stack(tmp_path, cfg, "dev")
    assert runner.invoke(app, ["synth", str(bad), "--out", str(out)]).exit_code == 2
    assert (out / "plan.json").read_bytes() == before


def test_schema_is_json_schema_of_all_keys() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert set(doc["properties"]) == {
        "cluster",
        "network",
        "gpuPools",
        "gpuOperator",
        "storage",
        "serving",
        "scheduling",
        "observability",
        "policy",
        "charts",
        "images",
    }
    assert doc["required"] == ["cluster", "gpuPools"]


def test_validate_needs_exactly_one_source() -> None:
    assert runner.invoke(app, ["validate"]).exit_code == 2


def test_validate_bad_config_exits_2(tmp_path: Path) -> None:
    cfg = stack_config("dev")
    cfg["cluster"]["provider"] = "gcp"
    assert runner.invoke(app, ["validate", str(write_stack(tmp_path, cfg))]).exit_code == 2


def test_validate_plan_dir_finds_invalid_object(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    assert runner.invoke(app, ["synth", "dev", "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["validate", "--plan", str(out)]).exit_code == 0
    plan = json.loads((out / "plan.json").read_text())
    ns = next(r for r in plan["resources"] if r["type"] == "kubernetes:core/v1:Namespace")
    ns["inputs"]["spec"] = {"finalizers": "kubernetes"}  # must be a list
    (out / "plan.json").write_text(json.dumps(plan))
    manifest = out / "manifests" / "_cluster" / "Namespace-dynamo.yaml"
    manifest.write_text(yaml.safe_dump(ns["inputs"]))  # plan and manifest agree: the schema check decides
    result = runner.invoke(app, ["validate", "--plan", str(out)])
    assert result.exit_code == 1
    assert "spec/finalizers" in result.output


def test_validate_missing_plan_dir_exits_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", "--plan", str(tmp_path / "none")]).exit_code == 2


def test_synth_program_failure_exits_1_without_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components import platform

    monkeypatch.setattr(platform, "LAYERS", (*platform.LAYERS, ("broken", "tests.spine.failing_layer:build")))
    out = tmp_path / "dev"
    result = runner.invoke(app, ["synth", "dev", "--out", str(out)])
    assert result.exit_code == 1
    assert "synth failed" in result.output and "layer exploded on purpose" in result.output
    assert not out.exists()
