"""Rendering a chart the way the plan installs it (stacks/charts): Helm's engine, offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from components.charts import RELEASE_TYPE
from stacks.charts import ChartSourceError, render_plan
from stacks.charts.checks import validate_with_charts
from stacks.charts.loaded import views_from_dir, views_from_plan
from stacks.charts.render import GENERATED, SECRET
from stacks.engine import Plan
from stacks.output import write_plan
from stacks.validate import Validator
from tests.charts.conftest import demo_plan, write_demo_chart
from tests.conftest import CRD_DIR


def _objects(plan_charts: object) -> dict[tuple[str, str], dict]:
    rendering = plan_charts.renderings[0]  # type: ignore[attr-defined]
    return {(o.kind, o.name): o.obj for o in rendering.objects}


def test_templates_see_the_clusters_kube_version_and_the_stacks_api_versions(demo_charts: Path) -> None:
    charts = render_plan(demo_plan(), charts_dir=demo_charts)
    objects = _objects(charts)
    caps = objects[("ConfigMap", "demo-caps")]["data"]
    assert caps == {"kube": "v1.33.0", "example": "true"}  # the chart's own CRD is served once installed
    assert ("Foo", "foo") in objects  # a template gated on the CRD's API renders (second pass)
    assert charts.passes == 2


def test_hooks_are_not_release_objects_of_a_v4_chart_but_run_in_a_release(demo_charts: Path) -> None:
    chart = render_plan(demo_plan(), charts_dir=demo_charts).renderings[0]
    assert [(h.kind, h.name, h.hook) for h in chart.hooks] == [
        ("ConfigMap", "made-by-hook", ("pre-install", "pre-upgrade"))
    ]
    assert "made-by-hook" not in {o.name for o in chart.objects}
    release = render_plan(demo_plan(type_=RELEASE_TYPE), charts_dir=demo_charts).renderings[0]
    assert "made-by-hook" in {o.name for o in release.objects}  # Helm runs install hooks of a helm.v3.Release


def test_crds_of_the_chart_and_enabled_subcharts_only_unless_skipped(demo_charts: Path) -> None:
    def crds(plan: Plan) -> set[str]:
        return {n for k, n in _objects(render_plan(plan, charts_dir=demo_charts)) if k == "CustomResourceDefinition"}

    assert crds(demo_plan()) == {"foos.example.com"}  # sub is disabled: its crds/ are not installed
    assert crds(demo_plan({"sub": {"enabled": True}})) == {"foos.example.com", "bars.example.com"}
    assert crds(demo_plan(skipCrds=True)) == set()


def test_namespaces_secrets_notes_and_generated_values(demo_charts: Path) -> None:
    charts = render_plan(demo_plan(), charts_dir=demo_charts)
    objects = _objects(charts)
    assert objects[("Deployment", "web")]["metadata"]["namespace"] == "ns1"  # release namespace, as Pulumi sets it
    assert "namespace" not in objects[("ClusterRole", "demo-reader")]["metadata"]
    assert objects[("Secret", "demo-secret")]["data"] == {"password": SECRET, "fixed": SECRET}
    assert all(o.template != "demo/templates/NOTES.txt" for o in charts.renderings[0].objects)
    # randAlphaNum differs between two renders: a marker, listed, instead of a value that changes every synth
    assert charts.renderings[0].generated == [("demo/templates/secret.yaml", "data.password")]


def test_generated_marker_replaces_the_value_before_redaction(demo_charts: Path) -> None:
    plan = demo_plan()
    plan.charts = render_plan(plan, charts_dir=demo_charts)
    raw_docs = {o.name: o for o in plan.charts.renderings[0].objects}
    assert raw_docs["demo-secret"].obj["data"]["password"] == SECRET  # redacted either way
    assert GENERATED != SECRET


def test_manifests_and_plan_json_list_every_rendered_object(demo_charts: Path, tmp_path: Path) -> None:
    plan = demo_plan()
    plan.charts = render_plan(plan, charts_dir=demo_charts)
    out = write_plan(plan, tmp_path / "out", "report\n")
    rendered = json.loads((out / "plan.json").read_text())["resources"][0]["rendered"]
    files = sorted(p.relative_to(out / "manifests").as_posix() for p in (out / "manifests").rglob("*.yaml"))
    assert files == sorted(o["file"] for o in rendered["objects"])
    assert (
        "_charts/demo/ns1/Deployment-web.yaml" in files
        and "_charts/demo/_cluster/ClusterRole-demo-reader.yaml" in files
    )
    for entry in rendered["objects"]:
        text = (out / "manifests" / entry["file"]).read_text()
        assert hashlib.sha256(text.encode()).hexdigest() == entry["sha256"]
        assert yaml.safe_load(text)["kind"] == entry["kind"]
    assert rendered["hooks"] == [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "made-by-hook",
            "namespace": "ns1",
            "template": "demo/templates/hook.yaml",
            "events": ["pre-install", "pre-upgrade"],
            "runs": False,
        }
    ]
    assert rendered["chart"] == "demo" and rendered["version"] == "1.2.3" and rendered["deploy"] == "helm.v4.Chart"
    assert rendered["source"] == "https://charts.example demo" and rendered["digest"].startswith("sha256:")
    assert [v.release for v in views_from_dir(json.loads((out / "plan.json").read_text()), out)] == ["demo"]


def test_rendering_is_cached_by_chart_digest_and_values(demo_charts: Path) -> None:
    first = render_plan(demo_plan(), charts_dir=demo_charts).renderings[0]
    again = render_plan(demo_plan(), charts_dir=demo_charts).renderings[0]
    other = render_plan(demo_plan({"image": "nats:2.11"}), charts_dir=demo_charts).renderings[0]
    assert not first.cached and again.cached and not other.cached
    assert [o.obj for o in first.objects] == [o.obj for o in again.objects]
    (demo_charts / "demo" / "templates" / "extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    )
    changed = render_plan(demo_plan(), charts_dir=demo_charts).renderings[0]
    assert not changed.cached and "x" in {o.name for o in changed.objects}  # a changed chart has a new digest


def test_rejects_a_chart_synth_cannot_find_offline(demo_charts: Path) -> None:
    from stacks.charts.locate import locate

    with pytest.raises(ChartSourceError, match="cannot reach offline: give a local copy with --charts-dir"):
        locate(demo_plan().resources[0].inputs, None)
    with pytest.raises(ChartSourceError, match=r"neither demo/ nor demo-1\.2\.3\.tgz in"):
        render_plan(demo_plan(), charts_dir=demo_charts / "nowhere")
    skipped = render_plan(demo_plan(), charts_dir=demo_charts / "nowhere", allow_unrendered=True)
    assert not skipped.renderings and "neither demo/ nor demo-1.2.3.tgz" in next(iter(skipped.skipped.values()))


def test_rejects_a_local_copy_of_another_version(demo_charts: Path, tmp_path: Path) -> None:
    write_demo_chart(tmp_path / "other", version="1.2.4")
    with pytest.raises(ChartSourceError, match=r"its Chart\.yaml says demo@1\.2\.4"):
        render_plan(demo_plan(), charts_dir=tmp_path / "other")


def test_local_source_renders_the_path_the_plan_installs(demo_charts: Path) -> None:
    plan = demo_plan(chart=str(demo_charts / "demo"), repositoryOpts=None)
    chart = render_plan(plan, charts_dir=None).renderings[0]
    assert chart.located.source == f"local {demo_charts / 'demo'}"


def test_image_mirror_reaches_every_rendered_image(demo_charts: Path) -> None:
    objects = _objects(render_plan(demo_plan(mirror="registry.ncp.example/mirror"), charts_dir=demo_charts))
    image = objects[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.ncp.example/mirror/docker.io/library/nats:2.10"


def test_custom_resources_validate_against_the_crd_the_chart_installs(demo_charts: Path, tmp_path: Path) -> None:
    """The chart's CRD writes `exclusiveMinimum: true` (OpenAPI v3.0): size 1 > 0 is valid, size 0 is not."""
    plan = demo_plan()
    plan.charts = render_plan(plan, charts_dir=demo_charts)
    validator = Validator("1.33", CRD_DIR, None)
    result = validate_with_charts(validator, plan.to_json(), views_from_plan(plan), None)
    assert [f.render() for f in result.findings] == []
    assert result.charts["demo"].objects == len(plan.charts.renderings[0].objects)
    foo = next(o for o in plan.charts.renderings[0].objects if o.kind == "Foo")
    foo.obj["spec"]["size"] = 0
    bad = validate_with_charts(validator, plan.to_json(), views_from_plan(plan), None)
    assert [f.message for f in bad.findings] == ["0 is less than or equal to the minimum of 0"]
    assert "demo/templates/cr.yaml" in bad.findings[0].path


def test_a_triaged_upstream_defect_is_reported_as_upstream_and_does_not_fail(
    demo_charts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from components.catalog import upstream_defects
    from stacks.charts import checks

    plan = demo_plan()
    plan.charts = render_plan(plan, charts_dir=demo_charts)
    foo = next(o for o in plan.charts.renderings[0].objects if o.kind == "Foo")
    foo.obj["spec"]["size"] = 0
    defect = upstream_defects.UpstreamDefect("demo", "1.2.3", "templates/cr.yaml", "less than or equal", "demo's bug")
    monkeypatch.setattr(checks, "UPSTREAM_DEFECTS", (defect,))
    result = validate_with_charts(Validator("1.33", CRD_DIR, None), plan.to_json(), views_from_plan(plan), None)
    assert result.findings == []
    assert [f.message for f in result.upstream] == ["0 is less than or equal to the minimum of 0 [demo's bug]"]
    assert result.charts["demo"].upstream == 1 and result.charts["demo"].findings == 0
