"""`inference-ra export`: the plan's Kubernetes part as Argo CD / Flux objects, in the plan's order, strictly valid
against the controllers' CRDs, pointing at the chart the plan rendered with the values it rendered."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stacks.cli import app
from stacks.export import ExportError, GitSettings, export_plan
from stacks.export.units import build_model, layer_of
from stacks.validate import Validator
from tests.conftest import CHARTS_DIR, CRD_DIR, SHIPPED_STACKS, shipped_plan

runner = CliRunner()
GIT = {
    "argocd": GitSettings("https://git.example/platform.git", "main", "clusters/x", "argocd"),
    "flux": GitSettings("https://git.example/platform.git", "main", "clusters/x", "flux-system"),
}


def _plan(stack: str) -> dict[str, Any]:
    return shipped_plan(stack).to_json()


def _export(stack: str, fmt: str) -> Any:
    return export_plan(_plan(stack), fmt, GIT[fmt], CRD_DIR)


def _by_kind(files: Any, kind: str) -> dict[str, Any]:
    return {o["metadata"]["name"]: o for o in files.values() if o.get("kind") == kind}


@pytest.mark.parametrize("fmt", ["argocd", "flux"])
@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_export_is_valid_against_controller_crds(stack: str, fmt: str) -> None:
    result = _export(stack, fmt)
    assert result.findings == ()
    charts = len(result.model.charts)
    # argocd: root + one Application per unit; flux: GitRepository + root + per unit a Kustomization (+ source/release)
    units = charts + len(result.model.groups)
    assert result.validated == (1 + units if fmt == "argocd" else 2 + units + 2 * charts)


def test_rejects_an_exported_field_the_crd_does_not_have() -> None:
    """The strict check can fail: an unknown field in an Application or HelmRelease is a finding."""
    validator = Validator("1.33", CRD_DIR)
    for fmt, kind in (("argocd", "Application"), ("flux", "HelmRelease")):
        obj = copy.deepcopy(next(iter(_by_kind(_export("aws-h100", fmt).files, kind).values())))
        obj["spec"]["valuesFrom2"] = []
        assert any("valuesFrom2" in f.render() for f in validator.validate_object(obj)), kind


def test_waves_follow_the_plan_dependencies_on_aws_h100() -> None:
    model = build_model(_plan("aws-h100"))
    waves = {model.name_of(u): u.wave for u in (*model.charts, *model.groups)}
    for unit in (*model.charts, *model.groups):
        assert all(waves[d] < unit.wave for d in unit.depends_on), model.name_of(unit)
    charts = {c.release: c for c in model.charts}
    # the GPU Operator reads the DCGM metrics ConfigMap (compute) and its namespace; Dynamo's graph needs the operator
    assert set(charts["gpu-operator"].depends_on) >= {"aws-h100-compute-w1", "aws-h100-namespaces-w0"}
    graph = next(g for g in model.groups if any("DynamoGraphDeployment" in rel for rel, _ in g.objects))
    assert "aws-h100-chart-dynamo-platform" in graph.depends_on
    assert graph.wave > charts["dynamo-platform"].wave


def test_argocd_waves_and_flux_depends_on_carry_the_order() -> None:
    model = build_model(_plan("aws-h100"))
    apps = _by_kind(_export("aws-h100", "argocd").files, "Application")
    kusts = _by_kind(_export("aws-h100", "flux").files, "Kustomization")
    for unit in (*model.charts, *model.groups):
        name = model.name_of(unit)
        assert apps[name]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == str(unit.wave)
        assert [d["name"] for d in kusts[name]["spec"].get("dependsOn", [])] == list(unit.depends_on)
        assert kusts[name]["spec"]["wait"] is True


def test_every_plan_object_is_exported_once_except_placeholder_secrets() -> None:
    plan = _plan("aws-h100")
    files = _export("aws-h100", "flux").files
    from stacks.output import plan_manifests

    expected = {rel for rel, obj in plan_manifests(plan).items() if obj.get("kind") != "Secret"}
    exported = [rel.split("/", 2)[2] for rel in files if rel.startswith("units/") and "chart-" not in rel.split("/")[1]]
    assert sorted(exported) == sorted(expected)
    assert not any("Secret-hf-token" in rel for rel in files)
    assert any("Secret dynamo/hf-token" in line for line in build_model(plan).left_out)


def test_protected_objects_are_never_pruned() -> None:
    argo = _export("aws-h100", "argocd").files
    pvc = next(o for r, o in argo.items() if r.endswith("PersistentVolumeClaim-model-cache.yaml"))
    assert pvc["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"
    flux = _export("aws-h100", "flux").files
    pvc = next(o for r, o in flux.items() if r.endswith("PersistentVolumeClaim-model-cache.yaml"))
    assert pvc["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"] == "disabled"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_charts_point_at_the_chart_the_plan_rendered_with_its_values(stack: str) -> None:
    """The exported source resolves to the same chart archive (digest) the plan rendered, with the same values,
    release name and namespace."""
    from stacks.charts.locate import locate

    plan = _plan(stack)
    charts = {r["name"]: r for r in plan["resources"] if r["type"].startswith("kubernetes:helm.sh/")}
    apps = _by_kind(_export(stack, "argocd").files, "Application")
    flux = _export(stack, "flux").files
    releases = _by_kind(flux, "HelmRelease")
    assert {r for r in releases} == set(charts)
    for name, r in charts.items():
        src = apps[f"{stack}-chart-{name}"]["spec"]["source"]
        assert src["helm"]["valuesObject"] == r["inputs"]["values"]
        assert src["helm"]["releaseName"] == name
        assert apps[f"{stack}-chart-{name}"]["spec"]["destination"]["namespace"] == r["inputs"]["namespace"]
        inputs = (
            {"chart": src["repoURL"], "version": src["targetRevision"]}
            if src["repoURL"].startswith("oci://")
            else {"chart": src["chart"], "version": src["targetRevision"], "repositoryOpts": {"repo": src["repoURL"]}}
        )
        assert locate(inputs, CHARTS_DIR).digest == r["rendered"]["digest"], name
        hr = releases[name]["spec"]
        assert hr["values"] == r["inputs"]["values"]
        assert (hr["releaseName"], hr["targetNamespace"]) == (name, r["inputs"]["namespace"])
        if "chartRef" in hr:
            oci = _by_kind(flux, "OCIRepository")[name]["spec"]
            assert (oci["url"], oci["ref"]["tag"]) == (r["inputs"]["chart"], r["inputs"]["version"])
        else:
            assert hr["chart"]["spec"]["version"] == r["inputs"]["version"]
        assert hr["install"]["disableHooks"] is (r["type"] == "kubernetes:helm.sh/v4:Chart")


def test_helm_renders_the_exported_release_as_the_plan_did() -> None:
    """Helm's own engine, fed the exported HelmRelease's chart, values, release name and namespace, renders the very
    objects the plan lists for that chart."""
    from stacks.charts.helm import render
    from stacks.charts.locate import locate

    plan = _plan("aws-h100")
    chart = next(r for r in plan["resources"] if r["name"] == "aws-fsx-csi-driver")
    hr = _by_kind(_export("aws-h100", "flux").files, "HelmRelease")["aws-fsx-csi-driver"]["spec"]
    located = locate(chart["inputs"], CHARTS_DIR)
    loaded = render(
        located.path,
        hr["values"],
        release=hr["releaseName"],
        namespace=hr["targetNamespace"],
        kube_version=chart["rendered"]["kubeVersion"],
        api_versions=[],
    )
    import yaml

    rendered = set()
    for text in loaded.templates.values():
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict) and doc.get("kind"):
                rendered.add((doc["kind"], doc["metadata"]["name"]))
    planned = {
        (Path(o["file"]).name.split("-", 1)[0], Path(o["file"]).stem.split("-", 1)[1])
        for o in chart["rendered"]["objects"]
    }
    assert planned and planned <= rendered


def test_rejects_a_local_chart_source() -> None:
    plan = copy.deepcopy(_plan("dev"))
    chart = next(r for r in plan["resources"] if r["type"] == "kubernetes:helm.sh/v4:Chart")
    chart["inputs"]["chart"] = "../charts/gpu-operator"
    chart["inputs"].pop("repositoryOpts")
    with pytest.raises(ExportError, match="local path"):
        build_model(plan)


def test_rejects_charts_under_an_image_mirror() -> None:
    """`images.mirror` reaches chart objects as a Pulumi transform at deploy time (components/images.py); a GitOps
    controller renders the charts itself, so its pods would pull from the original registries: refused, not exported
    half-mirrored."""
    with pytest.raises(ExportError, match=r"images\.mirror registry\.example:5000/mirror"):
        build_model(_plan("dev"), image_mirror="registry.example:5000/mirror")
    assert build_model(_plan("dev"), image_mirror=None).charts  # without a mirror the charts export


def test_rejects_a_secret_in_chart_values() -> None:
    plan = copy.deepcopy(_plan("dev"))
    chart = next(r for r in plan["resources"] if r["type"] == "kubernetes:helm.sh/v4:Chart")
    chart["inputs"]["values"]["token"] = "[secret]"
    with pytest.raises(ExportError, match="secret"):
        build_model(plan)


def test_layer_of_reads_the_component_under_the_platform() -> None:
    urn = (
        "urn:pulumi:s::inference-ra::inference-ra:index:InferencePlatform$inference-ra:compute:Compute"
        "$inference-ra:gpu_nodepools:GpuNodePool$aws:eks/nodeGroup:NodeGroup::x"
    )
    assert layer_of(urn) == "compute"


def test_export_cli_writes_deterministically_and_refuses_foreign_dirs(tmp_path: Path) -> None:
    out = tmp_path / "gitops"
    args = ["export", "dev", "--format", "flux", "--repo-url", "https://git.example/p.git", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert runner.invoke(app, args).exit_code == 0
    assert {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == first
    assert Path(".inference-ra") in first and Path("README.md") in first
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    result = runner.invoke(app, [*args[:-1], str(foreign)])
    assert result.exit_code == 2 and "refusing" in result.output
    assert sorted(p.name for p in foreign.iterdir()) == ["keep.txt"]


def test_export_cli_rejects_bad_options(tmp_path: Path) -> None:
    base = ["export", "dev", "--repo-url", "https://git.example/p.git", "--out", str(tmp_path / "o")]
    bad_format = runner.invoke(app, [*base, "--format", "kustomize"])
    assert bad_format.exit_code == 2 and "--format must be one of argocd, flux" in bad_format.output
    bad_path = runner.invoke(app, [*base, "--format", "flux", "--repo-path", "../up"])
    assert bad_path.exit_code == 2 and "--repo-path" in bad_path.output
    no_crds = runner.invoke(app, [*base, "--format", "flux", "--crd-dir", str(tmp_path / "none")])
    assert no_crds.exit_code == 2
    assert not (tmp_path / "o").exists()


def test_export_cli_refuses_a_stack_under_an_image_mirror(tmp_path: Path) -> None:
    from tests.conftest import stack_config, write_stack

    cfg = stack_config("dev")
    cfg["images"] = {"mirror": "registry.example:5000/mirror"}
    stack = write_stack(tmp_path, cfg, "mirrored")
    out = tmp_path / "o"
    args = ["export", str(stack), "--format", "argocd", "--repo-url", "https://git.example/p.git", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "images.mirror registry.example:5000/mirror" in result.output
    assert not out.exists()
