"""The shipped stacks with every chart rendered: what validate, the reference check and the hook check say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.catalog import CHARTS
from components.observability.layer import chart_values
from stacks.charts.checks import validate_with_charts
from stacks.charts.loaded import views_from_plan
from stacks.validate import Validator
from tests.conftest import CHART_VALUES_DIR, CRD_DIR, SHIPPED_STACKS, shipped_plan


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_rendered_object_and_reference_validates(stack: str) -> None:
    plan = shipped_plan(stack)
    views = views_from_plan(plan)
    assert views and all(not v.skipped for v in views)
    validator = Validator(plan.spec.cluster.kubernetes_version, CRD_DIR, CHART_VALUES_DIR)
    result = validate_with_charts(validator, plan.to_json(), views, plan.spec)
    assert [f.render() for f in result.findings] == []
    assert {v.release for v in views} == set(result.charts)
    assert all(c.objects > 0 for c in result.charts.values())


def test_kube_prometheus_stack_renders_no_admission_hook_and_mounts_no_hook_secret() -> None:
    """Issue 16 item 3: the operator's TLS Secret came from a pre-install hook helm.v4.Chart never runs."""
    plan = shipped_plan("dev")
    kps = next(v for v in views_from_plan(plan) if v.chart == "kube-prometheus-stack")
    assert not [h for h in kps.hooks if "admission" in h.template]
    operator = next(o for o in kps.objects if o.kind == "Deployment" and o.name.endswith("-operator"))
    volumes = operator.obj["spec"]["template"]["spec"].get("volumes") or []
    assert not [v for v in volumes if "secret" in v]
    values = chart_values(plan.spec)
    assert values["prometheusOperator"]["admissionWebhooks"]["enabled"] is False
    assert values["prometheusOperator"]["tls"]["enabled"] is False


def test_every_chart_records_its_deploy_decision() -> None:
    for key, ref in CHARTS.items():
        assert ref.deploy in ("chart", "release"), key
        assert ref.hooks, f"chart {key}: record which hooks it has and why it is deployed as {ref.deploy}"


def test_dra_driver_uses_the_resource_api_the_cluster_serves() -> None:
    """Helm's default API set has resource.k8s.io/v1 whatever the cluster; Kubernetes 1.33 serves v1beta1/v1beta2."""
    plan = shipped_plan("ncp-ib")
    dra = next(v for v in views_from_plan(plan) if v.chart == "dra-driver-nvidia-gpu")
    classes = [o.obj["apiVersion"] for o in dra.objects if o.kind == "DeviceClass"]
    assert classes and set(classes) == {"resource.k8s.io/v1beta2"}


def test_validate_and_check_cover_rendered_objects_per_chart(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stacks.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["synth", "ncp-ib", "--out", str(tmp_path / "p")]).exit_code == 0
    result = runner.invoke(app, ["validate", "--plan", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "chart kai-scheduler: 36 rendered objects, 0 finding(s), 0 upstream" in result.output
    assert "chart nvidia-dra-driver: 19 rendered objects, 0 finding(s), 0 upstream" in result.output
    check = runner.invoke(app, ["check", "--plan", str(tmp_path / "p"), "ncp-ib"])
    assert check.exit_code == 0, check.output
    rendered = sum(1 for _ in (tmp_path / "p" / "manifests" / "_charts").rglob("*.yaml"))
    assert f"({rendered} rendered from charts)" in check.output


def test_report_lists_charts_images_and_generated_values() -> None:
    from stacks.report import render_report

    report = render_report(shipped_plan("dev"))
    assert "| kube-prometheus-stack | kube-prometheus-stack | 88.5.3 | helm.v4.Chart |" in report
    assert "| dynamo-platform | `nvcr.io/nvidia/ai-dynamo/kubernetes-operator:1.4.0` | tag |" in report
    # Grafana's admin password comes from the stack secret grafanaAdminPassword (grafana.admin.existingSecret), so
    # no chart value is generated anew per render any more (the marker mechanism: tests/charts/test_render.py)
    assert "Values Helm generates anew" not in report


def test_rendering_is_deterministic_across_empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two synths, each rendering from nothing: byte-identical plans (Helm's per-render values are markers)."""
    from components.loader import read_stack_file
    from stacks.engine import synth

    docs = []
    for run in ("a", "b"):
        monkeypatch.setenv("INFERENCE_RA_CACHE_DIR", str(tmp_path / run))
        plan = synth(read_stack_file("dev"))
        assert plan.charts is not None and not any(c.cached for c in plan.charts.renderings)
        docs.append(json.dumps(plan.to_json(), sort_keys=True))
    assert docs[0] == docs[1]
