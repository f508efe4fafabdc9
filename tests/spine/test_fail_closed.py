"""Never fail open (issue 18, items 4-6 and the engine's URN check): what could not be checked is an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from stacks.cli import app
from tests.conftest import CHART_VALUES_DIR, CRD_DIR, REPO, stack_config, write_stack

runner = CliRunner()


@pytest.fixture
def no_upstream(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No schema flags, no env, and the default ../shared/upstream pointed somewhere empty."""
    monkeypatch.delenv("INFERENCE_RA_CRD_DIR", raising=False)
    monkeypatch.delenv("INFERENCE_RA_CHART_VALUES_DIR", raising=False)
    monkeypatch.setenv("INFERENCE_RA_UPSTREAM", str(tmp_path / "nowhere"))
    import stacks.cli

    monkeypatch.setattr(stacks.cli, "UPSTREAM", tmp_path / "nowhere", raising=False)  # where main looked
    return tmp_path


# ------------------------------------------------------------------------------------------- item 4: schemas
def test_validate_without_upstream_schemas_exits_2(no_upstream: Path) -> None:
    result = runner.invoke(app, ["validate", "dev"])
    assert result.exit_code == 2, result.output
    assert "--allow-unvalidated" in " ".join(result.output.split())


@pytest.mark.parametrize("flag", ["--crd-dir", "--chart-values-dir"])
def test_validate_with_a_missing_schema_dir_exits_2(tmp_path: Path, flag: str) -> None:
    result = runner.invoke(app, ["validate", "dev", flag, str(tmp_path / "missing")])
    assert result.exit_code == 2 and "is not a directory" in result.output


def test_validate_with_a_missing_env_dir_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERENCE_RA_CRD_DIR", str(tmp_path / "missing"))
    result = runner.invoke(app, ["validate", "dev"])
    assert result.exit_code == 2 and "INFERENCE_RA_CRD_DIR" in result.output


def test_allow_unvalidated_says_what_was_not_validated(no_upstream: Path) -> None:
    result = runner.invoke(app, ["validate", "dev", "--allow-unvalidated"])
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert "NOT validated:" in summary and "custom resources (no CRD dir)" in summary
    assert "charts' values (no chart values dir)" in summary


def test_suite_fails_without_upstream_in_ci(tmp_path: Path) -> None:
    """CI=true and no ../shared: the test run itself fails (a usage error), it does not skip 44 tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_RA_")}
    env.update(CI="true", INFERENCE_RA_UPSTREAM=str(tmp_path / "nowhere"), PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/spine/test_catalog.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "upstream reference data" in proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------ item 5: manifests/
@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    out = tmp_path / "dev"
    assert runner.invoke(app, ["synth", "dev", "--out", str(out)]).exit_code == 0
    return out


def _validate(plan_dir: Path) -> Any:
    return runner.invoke(
        app,
        ["validate", "--plan", str(plan_dir), "--crd-dir", str(CRD_DIR), "--chart-values-dir", str(CHART_VALUES_DIR)],
    )


def test_validate_plan_checks_edited_manifests(plan_dir: Path) -> None:
    manifest = plan_dir / "manifests" / "_cluster" / "Namespace-dynamo.yaml"
    obj = yaml.safe_load(manifest.read_text())
    obj["spec"] = {"finalizers": "kubernetes"}  # invalid, and not what plan.json says
    manifest.write_text(yaml.safe_dump(obj))
    result = _validate(plan_dir)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "manifests/_cluster/Namespace-dynamo.yaml: differs from plan.json" in text
    assert "spec/finalizers" in text  # the manifest itself was validated


def test_validate_plan_finds_an_added_manifest(plan_dir: Path) -> None:
    extra = plan_dir / "manifests" / "default" / "ConfigMap-sneaky.yaml"
    extra.parent.mkdir(parents=True)
    extra.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sneaky"}}))
    result = _validate(plan_dir)
    assert result.exit_code == 1 and "ConfigMap-sneaky.yaml: not in plan.json" in " ".join(result.output.split())


def test_validate_plan_finds_a_removed_manifest(plan_dir: Path) -> None:
    (plan_dir / "manifests" / "_cluster" / "Namespace-dynamo.yaml").unlink()
    result = _validate(plan_dir)
    assert result.exit_code == 1 and "Namespace-dynamo.yaml: missing" in " ".join(result.output.split())


def test_validate_plan_finds_an_edited_chart_object(plan_dir: Path) -> None:
    manifest = plan_dir / "manifests" / "_charts" / "gpu-operator" / "gpu-operator" / "Deployment-gpu-operator.yaml"
    obj = yaml.safe_load(manifest.read_text())
    obj["spec"]["replicas"] = 3  # valid, but not what Helm rendered from the plan's values
    manifest.write_text(yaml.safe_dump(obj))
    result = _validate(plan_dir)
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "Deployment-gpu-operator.yaml: differs from the rendering plan.json pins" in text


def test_validate_plan_finds_an_added_chart_object(plan_dir: Path) -> None:
    extra = plan_dir / "manifests" / "_charts" / "gpu-operator" / "gpu-operator" / "ConfigMap-sneaky.yaml"
    extra.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sneaky"}}))
    result = _validate(plan_dir)
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "ConfigMap-sneaky.yaml: not rendered by any chart of plan.json" in text


def test_validate_plan_rejects_a_truncated_plan(plan_dir: Path) -> None:
    text = (plan_dir / "plan.json").read_text()
    (plan_dir / "plan.json").write_text(text[: len(text) // 2])
    result = _validate(plan_dir)
    assert result.exit_code == 2 and "not valid JSON" in result.output


# ------------------------------------------------------------------------------- item 6: the pulumi up path
def _pulumi_path_problems(config: dict[str, Any], secret_keys: list[str] | None = None) -> list[str]:
    """What spec_from_pulumi_config() (the `pulumi up` path) reports for a config bag."""
    import pulumi

    from components.loader import SpecError, spec_from_pulumi_config

    pulumi.runtime.set_all_config(config, secret_keys or [])
    try:
        spec_from_pulumi_config()
    except SpecError as exc:
        return [p.render() for p in exc.problems]
    finally:
        pulumi.runtime.set_all_config({}, [])
    return []


def _synth_problems(path: Path) -> list[str]:
    from components.loader import SpecError, read_stack_file, spec_from_stack_file

    try:
        spec_from_stack_file(read_stack_file(str(path)))
    except SpecError as exc:
        return [p.render() for p in exc.problems]
    return []


def _bag(path: Path) -> tuple[dict[str, str], list[str]]:
    from components.loader import read_stack_file
    from stacks.engine import _config_for

    return _config_for(read_stack_file(str(path)))


@pytest.mark.parametrize(
    "mutation",
    [
        {"inference-ra:bogus": {"a": 1}},  # unknown key in our namespace
        {"inference-ra:clustr": {"name": "x"}},  # a top-level typo
        {"inferance-ra:cluster": {"name": "x"}},  # a namespace typo
    ],
)
def test_pulumi_up_path_rejects_what_synth_rejects(tmp_path: Path, mutation: dict[str, Any]) -> None:
    cfg = stack_config("dev")
    path = write_stack(tmp_path, cfg, "dev")
    doc = yaml.safe_load(path.read_text())
    doc["config"].update(mutation)
    path.write_text(yaml.safe_dump(doc))
    synth_side = _synth_problems(path)
    assert synth_side, "synth must reject it"
    config, secret_keys = _bag(path)
    assert _pulumi_path_problems(config, secret_keys) == synth_side


def test_pulumi_up_path_accepts_the_shipped_stacks() -> None:
    for name in ("dev", "aws-h100", "ncp-ib"):
        config, secret_keys = _bag(REPO / "stacks" / f"Pulumi.{name}.yaml")
        assert _pulumi_path_problems(config, secret_keys) == [], name


# ------------------------------------------------------------------------------ item 8: the engine's URNs
def test_engine_rejects_two_registrations_with_one_urn() -> None:
    import pulumi

    from stacks.engine import SynthError, run_offline

    def program() -> None:
        pulumi.ComponentResource("test:index:Thing", "same")
        pulumi.ComponentResource("test:index:Thing", "same")

    with pytest.raises(SynthError, match="Duplicate resource URN"):
        run_offline(program, stack="t")


def test_duplicate_azs_are_a_config_error_not_duplicate_urns(tmp_path: Path) -> None:
    cfg = stack_config("aws-h100")
    cfg["network"]["availabilityZones"] = ["us-east-2a", "us-east-2a"]
    path = write_stack(tmp_path, cfg, "dup")
    text = path.read_text() + "  aws:region: us-east-2\n"
    path.write_text(text)
    result = runner.invoke(app, ["synth", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "inference-ra:network.availabilityZones" in result.output
