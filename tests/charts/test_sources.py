"""Air-gapped installs: `charts.source` (repositories / local / oci) and `images.mirror`, in the plan and the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from components.charts import CHART_TYPES
from components.images import images_of
from components.loader import SpecError, spec_from_mapping
from stacks.charts.loaded import chart_resources, views_from_plan
from stacks.cli import app
from stacks.engine import Plan, synth
from stacks.report import render_report
from tests.conftest import CHARTS_DIR, shipped_plan, stack_config, stack_file_from, write_stack

MIRROR = "registry.ncp.example/mirror"


def _synth(stack: str, **keys: Any) -> Plan:
    config = stack_config(stack)
    config.update(keys)
    return synth(stack_file_from(config, name=stack, region="us-east-2" if stack == "aws-h100" else None))


def _charts(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in plan.resources if r.type in CHART_TYPES}


def _digests(plan: Plan) -> dict[str, list[str]]:
    return {c.release: [w.sha256 for w in plan.charts.written[c.urn]] for c in plan.charts.renderings}  # type: ignore[union-attr]


def test_local_source_installs_and_renders_the_local_copy() -> None:
    plan = _synth("dev", charts={"source": "local", "localDir": str(CHARTS_DIR)})
    charts = _charts(plan)
    assert charts["gpu-operator"]["chart"] == f"{CHARTS_DIR}/gpu-operator"
    assert "repositoryOpts" not in charts["gpu-operator"] and charts["gpu-operator"]["version"] == "v26.7.0"
    assert {c.located.source for c in plan.charts.renderings} == {  # type: ignore[union-attr]
        f"local {CHARTS_DIR}/{name}" for name in ("gpu-operator", "kube-prometheus-stack", "dynamo-platform")
    }
    assert _digests(plan) == _digests(shipped_plan("dev"))  # the same chart files: the same objects
    assert f"Chart source: `local` `{CHARTS_DIR}`" in render_report(plan)


def test_oci_mirror_source() -> None:
    plan = _synth("ncp-ib", charts={"source": "oci", "ociPrefix": "oci://registry.ncp.example/charts"})
    charts = _charts(plan)
    assert charts["kai-scheduler"]["chart"] == "oci://registry.ncp.example/charts/kai-scheduler"
    assert charts["grove"]["chart"] == "oci://registry.ncp.example/charts/grove-charts"
    assert charts["gpu-operator"]["chart"] == "oci://registry.ncp.example/charts/gpu-operator"
    assert all("repositoryOpts" not in c for c in charts.values())
    assert _digests(plan) == _digests(shipped_plan("ncp-ib"))


def test_image_mirror_reaches_every_image_of_the_stack() -> None:
    plan = _synth("ncp-ib", images={"mirror": MIRROR})
    charts = _charts(plan)
    assert charts["kai-scheduler"]["values"]["global"]["registry"] == f"{MIRROR}/ghcr.io/kai-scheduler/kai-scheduler"
    assert charts["grove"]["values"]["deployment"]["env"] == [
        {"name": "GROVE_INIT_CONTAINER_IMAGE", "value": f"{MIRROR}/ghcr.io/ai-dynamo/grove/grove-initc"}
    ]
    reloader = charts["kube-prometheus-stack"]["values"]["prometheusOperator"]["prometheusConfigReloader"]
    assert reloader["image"]["registry"] == f"{MIRROR}/quay.io"
    own = [r.inputs for r in plan.resources if r.type.startswith("kubernetes:") and "kind" in r.inputs]
    rendered = [o.obj for v in views_from_plan(plan) for o in v.objects]
    images = [u.image for obj in own + rendered for u in images_of(obj)]
    assert len(images) > 40
    assert [i for i in images if not i.startswith(MIRROR + "/")] == []
    args = next(
        o.obj
        for v in views_from_plan(plan)
        for o in v.objects
        if o.kind == "Deployment" and o.name == "kube-prometheus-stack-operator"
    )["spec"]["template"]["spec"]["containers"][0]["args"]
    assert (
        f"--prometheus-config-reloader={MIRROR}/quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1" in args
    )
    assert f"image mirror: `{MIRROR}`" in render_report(plan)


def test_a_mirrored_stack_passes_the_registry_policy_with_only_the_mirror_allowed() -> None:
    from policies.runner import evaluate, resources_from_plan, settings_for

    plan = _synth("ncp-ib", images={"mirror": MIRROR}, policy={"allowedRegistries": [MIRROR]})
    resources = resources_from_plan(plan.to_json()) + chart_resources(views_from_plan(plan))
    findings = [f for f in evaluate(resources, settings_for(plan.spec)) if f.rule == "images-allowed-registries"]
    assert findings == []


@pytest.mark.parametrize(
    ("charts", "message"),
    [
        ({"source": "local"}, "source `local` needs `localDir`"),
        ({"source": "oci"}, "source `oci` needs `ociPrefix`"),
        ({"source": "repositories", "localDir": "x"}, "`localDir` is read only with source `local`"),
        ({"source": "oci", "ociPrefix": "https://registry/charts"}, "String should match pattern"),
    ],
)
def test_rejects_an_incomplete_chart_source(charts: dict[str, Any], message: str) -> None:
    config = stack_config("dev") | {"charts": charts}
    with pytest.raises(SpecError) as err:
        spec_from_mapping(config)
    assert any(p.path.startswith("charts") and message in p.message for p in err.value.problems), err.value


def test_rejects_a_mirror_with_a_scheme() -> None:
    with pytest.raises(SpecError) as err:
        spec_from_mapping(stack_config("dev") | {"images": {"mirror": "https://registry.example"}})
    assert [p.path for p in err.value.problems] == ["images.mirror"]


def test_synth_fails_closed_without_a_local_copy_and_validate_reports_unrendered_charts(tmp_path: Path) -> None:
    runner = CliRunner()
    stack = write_stack(tmp_path, stack_config("dev"), "airgap")
    absent = runner.invoke(
        app, ["synth", str(stack), "--out", str(tmp_path / "out"), "--charts-dir", str(tmp_path / "absent")]
    )
    assert absent.exit_code == 2  # a named directory that does not exist fails closed at once
    assert "--charts-dir" in absent.output and "is not a directory" in absent.output
    missing = tmp_path / "no-charts"  # exists, but holds no copy of the stack's charts
    missing.mkdir()
    result = runner.invoke(app, ["synth", str(stack), "--out", str(tmp_path / "out"), "--charts-dir", str(missing)])
    assert result.exit_code == 2
    assert "chart not available offline" in result.output or "chart not available offline" in str(result.stderr_bytes)
    assert not (tmp_path / "out").exists()
    waived = [
        "synth",
        str(stack),
        "--out",
        str(tmp_path / "out"),
        "--charts-dir",
        str(missing),
        "--allow-unrendered-charts",
    ]
    assert runner.invoke(app, waived).exit_code == 0
    check = runner.invoke(app, ["validate", "--plan", str(tmp_path / "out")])
    assert check.exit_code == 1
    assert "not rendered, so none of its objects was checked" in check.output
