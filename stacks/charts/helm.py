"""Helm's own engine, offline: the Helm v4 SDK through `helm-python-sdk` (libhelm_c, no helm binary).

`helm_python.Chart.render` exposes only name/namespace/revision/is_install/is_upgrade, but the library's
`helm_render` call also takes `kube_version` and `api_versions` (decoded strictly: an unknown key is rejected with
`invalid render options JSON: json: unknown field ...`), which become `.Capabilities.KubeVersion` and
`.Capabilities.APIVersions` exactly as `helm template --kube-version --api-versions` sets them. We call it through
the package's own ctypes table (`helm_python._native`), pinned to helm-python-sdk 0.2.2 (Helm SDK v4.2.3) in
pyproject.toml; `tests/charts/test_helm.py` proves both options reach the templates. The `lookup` template
function returns nothing offline (Pulumi's helm.v4.Chart runs it against the live cluster).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
from helm_python import _native


class HelmRenderError(Exception):
    """Helm could not load or render a chart (the message is Helm's, with the template path)."""


@functools.cache
def sdk_version() -> str:
    """The Helm Go SDK compiled into libhelm_c (e.g. v4.2.3). Cached: a forked child must not call into the Go
    runtime of its parent (Go does not survive fork without exec; bench/synth_scale.py forks)."""
    return str(helm_python.helm_sdk_version())


@dataclass(frozen=True)
class LoadedChart:
    metadata: dict[str, Any]
    crds: tuple[tuple[str, str], ...]  # (file path inside the chart, e.g. gpu-operator/crds/x.yaml; YAML text)
    templates: dict[str, str]  # template path -> rendered text (partials excluded, empty outputs included)


def render(
    path: Path,
    values: dict[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str,
    api_versions: list[str],
) -> LoadedChart:
    """Load the chart at `path` (directory or .tgz) and render it as an install of `release` into `namespace`."""
    try:
        helm_python.validate_release_name(release)
    except helm_python.HelmError as exc:
        raise HelmRenderError(f"release name {release!r}: {exc}") from exc
    opts = {
        "name": release,
        "namespace": namespace,
        "revision": 1,
        "is_install": True,
        "kube_version": kube_version,
        "api_versions": sorted(api_versions),
    }
    try:
        with helm_python.Chart.load(path) as chart:
            metadata = chart.metadata
            crds = tuple((str(c.get("filename") or c["name"]), str(c["data"])) for c in chart.crds)
            raw = _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(opts))
    except helm_python.HelmError as exc:
        raise HelmRenderError(str(exc)) from exc
    templates: dict[str, str] = json.loads(raw)
    return LoadedChart(metadata, crds, templates)


def coalesced_defaults(path: Path) -> tuple[dict[str, Any], str]:
    """The chart's default values coalesced with every subchart's under its key (chartutil.CoalesceValues: where
    Helm reads a value), and the text of the chart's own templates (a key without a default may still have a
    reader: `.Values.operator.resources`), then those of its unpacked subcharts (`charts/<name>/`: templates and
    the files/ a subchart's templates `tpl`, e.g. the nats chart's files/stateful-set/*.yaml), where a subchart reads
    the values under its key (stacks/validate.py `whole_map_reader`)."""
    try:
        with helm_python.Chart.load(path) as chart:
            templates = "\n".join(t.get("data") or "" for t in chart.templates)
            values = chart.merge_values({})
    except helm_python.HelmError as exc:
        raise HelmRenderError(str(exc)) from exc
    return values, "\n".join([templates, *_subchart_texts(path)])


def _subchart_texts(path: Path) -> list[str]:
    out: list[str] = []
    charts = path / "charts"
    if not charts.is_dir():
        return out
    for sub in sorted(p for p in charts.iterdir() if (p / "Chart.yaml").is_file()):
        for f in sorted((*sub.glob("templates/**/*"), *sub.glob("files/**/*"))):
            if f.is_file():
                out.append(f.read_text(encoding="utf-8", errors="replace"))
        out += _subchart_texts(sub)
    return out
