"""Where users stumble: --version, -h, --json on synth and graph, graph --plan, schema --stack-file, and no traceback
from the console script on an unexpected error (issue 18, "friendlier")."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from stacks.cli import app
from tests.conftest import REPO, SHIPPED_STACKS

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("inference-ra ")


@pytest.mark.parametrize("args", [["-h"], ["synth", "-h"], ["validate", "-h"]])
def test_short_help(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "Usage:" in result.stdout


def test_synth_json_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", "dev", "--out", str(tmp_path / "dev"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["stack"] == "dev" and doc["resources"] == sum(doc["types"].values()) and doc["maxGpus"] == 8
    assert doc["out"] == str((tmp_path / "dev").resolve())


def test_graph_json_and_from_a_plan_dir(tmp_path: Path) -> None:
    assert runner.invoke(app, ["synth", "dev", "--out", str(tmp_path / "dev")]).exit_code == 0
    result = runner.invoke(app, ["graph", "--plan", str(tmp_path / "dev"), "--out", str(tmp_path / "g"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["stack"] == "dev" and sorted(Path(f).name for f in doc["files"]) == [
        "architecture-dev.png",
        "architecture-dev.svg",
    ]
    assert all(Path(f).is_file() for f in doc["files"])
    assert [p.name for p in (tmp_path / "g").iterdir() if p.name.startswith(".")] == []  # no temp dir left


def test_graph_plan_dir_with_a_tampered_stack_name_exits_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["synth", "dev", "--out", str(tmp_path / "dev")]).exit_code == 0
    plan = json.loads((tmp_path / "dev" / "plan.json").read_text())
    plan["stack"] = "../../escape"
    (tmp_path / "dev" / "plan.json").write_text(json.dumps(plan))
    result = runner.invoke(app, ["graph", "--plan", str(tmp_path / "dev"), "--out", str(tmp_path / "g")])
    assert result.exit_code == 2 and not list(tmp_path.rglob("architecture-*"))


def test_stack_file_schema_accepts_the_shipped_stacks_and_has_catalog_enums() -> None:
    result = runner.invoke(app, ["schema", "--stack-file"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in SHIPPED_STACKS:
        doc = yaml.safe_load((REPO / "stacks" / f"Pulumi.{name}.yaml").read_text())
        assert list(validator.iter_errors(doc)) == [], name
    gpu = schema["$defs"]["GpuPoolSpec"]["properties"]["gpu"]
    assert "h100-sxm-80gb" in gpu["enum"]
    bad = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    bad["config"]["inference-ra:gpuPools"][0]["gpu"] = "h100"
    bad["config"]["inference-ra:clustr"] = {}
    messages = [e.message for e in validator.iter_errors(bad)]
    assert any("'h100' is not one of" in m for m in messages) and any("clustr" in m for m in messages)


def test_committed_editor_schema_is_current() -> None:
    """stacks/stack-file.schema.json (the yaml-language-server target in the README) = `schema --stack-file`."""
    from stacks.schema import stack_file_schema

    committed = json.loads((REPO / "stacks" / "stack-file.schema.json").read_text())
    assert committed == stack_file_schema(), "stale: run `make docs`"


def test_console_script_turns_an_unexpected_error_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import stacks.cli

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("something unexpected")

    monkeypatch.setattr(stacks.cli, "synth_or_exit", boom)
    monkeypatch.setattr(sys, "argv", ["inference-ra", "graph", "dev"])
    monkeypatch.delenv("INFERENCE_RA_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        stacks.cli.main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: something unexpected" in err and "Traceback" not in err


def test_ci_sets_ci_and_the_review_workflow_lays_shared_beside_the_checkout() -> None:
    assert "export CI=true" in (REPO / ".ci" / "run").read_text()
    workflow = yaml.safe_load((REPO / "docs" / "ci" / "github-pr-review.yml").read_text())
    steps = workflow["jobs"]["review"]["steps"]
    checkouts = [s.get("with", {}).get("path") for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert checkouts == ["inference-ra", "shared"]  # ../shared from inference-ra/
    assert any("test -d ../shared/upstream/crds" in str(s.get("run", "")) for s in steps)
