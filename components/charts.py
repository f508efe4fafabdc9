"""Where a pinned chart is installed from, with which values, as which Pulumi resource: pure functions over the
chart catalog and the stack's `charts` / `images` keys (components/spec/charts.py).

`components/k8s.py` registers what these functions return; the offline renderer (stacks/charts) reads the same
inputs back from plan.json, so what synth renders is what `pulumi up` installs.

- `repositories`: the catalog's Helm repository URL (`repositoryOpts.repo`) or oci:// reference.
- `local`: `<localDir>/<name>` (an unpacked chart) or `<localDir>/<name>-<version>.tgz`, passed to the chart
  resource as that path; a relative localDir stays relative in the plan and resolves against stacks/, the program's
  working directory under `pulumi up` (Pulumi.yaml `main: stacks/`).
- `oci`: `<ociPrefix>/<name>` at the pinned version.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.catalog.chart_resources import CHART_RESOURCES
from components.catalog.chart_security import CHART_SECURITY
from components.catalog.versions import CHARTS, ChartRef, MirrorValue
from components.images import mirror_image, mirror_repository
from components.spec.charts import ChartsSpec, ImagesSpec

STACKS_DIR = Path(__file__).resolve().parent.parent / "stacks"
CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
CHART_TYPES: frozenset[str] = frozenset({CHART_TYPE, RELEASE_TYPE})


@dataclass(frozen=True)
class ChartSettings:
    """The stack's chart source and image mirror, as the program applies them to every chart."""

    charts: ChartsSpec = field(default_factory=ChartsSpec)
    images: ImagesSpec = field(default_factory=ImagesSpec)


_active = ChartSettings()


def configure(settings: ChartSettings) -> None:
    """Set the chart source and mirror for the program run that follows (stacks/program.py, once per run)."""
    global _active
    _active = settings


def active() -> ChartSettings:
    return _active


@dataclass(frozen=True)
class ChartLocation:
    chart: str  # the `chart` input: a name (with repo), an oci:// reference or a local path
    version: str
    repo: str  # repositoryOpts.repo, or "" when none


def local_dir(charts: ChartsSpec, stacks_dir: Path = STACKS_DIR) -> Path:
    """The local chart directory, absolute (relative paths are relative to the stack files' directory)."""
    path = Path(charts.local_dir or "")
    return path if path.is_absolute() else (stacks_dir / path)


def locate(ref: ChartRef, charts: ChartsSpec, stacks_dir: Path = STACKS_DIR) -> ChartLocation:
    if charts.source == "local":
        base = charts.local_dir or ""
        if (local_dir(charts, stacks_dir) / ref.name).is_dir():
            return ChartLocation(f"{base.rstrip('/')}/{ref.name}", ref.version, "")
        return ChartLocation(f"{base.rstrip('/')}/{ref.name}-{ref.version}.tgz", ref.version, "")
    if charts.source == "oci":
        return ChartLocation(f"{(charts.oci_prefix or '').rstrip('/')}/{ref.name}", ref.version, "")
    return ChartLocation(ref.chart, ref.version, ref.repo)


def _set_default(values: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` (dotted) unless the stack's values already set it."""
    *parents, last = path.split(".")
    node = values
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node.setdefault(last, value)


def _mirrored(mv: MirrorValue, mirror: str) -> Any:
    if mv.form == "env":
        items = (mv.default,) if isinstance(mv.default, str) else mv.default
        out = []
        for item in items:
            name, _, repository = item.partition("=")
            out.append({"name": name, "value": mirror_repository(repository, mirror)})
        return out
    assert isinstance(mv.default, str)
    return mirror_image(mv.default, mirror) if mv.form == "image" else mirror_repository(mv.default, mirror)


def catalog_key(ref: ChartRef) -> str:
    """The catalog key of a chart reference ("" for one the catalog does not hold). By chart, not by equality: a
    release catalog (components/catalog/dynamo.py) pins another version of the same chart."""
    return next((key for key, entry in CHARTS.items() if entry.chart == ref.chart), "")


def chart_values(ref: ChartRef, values: Mapping[str, Any], images: ImagesSpec) -> dict[str, Any]:
    """The values a chart is installed with: the stack's; the catalog's container resources and security contexts
    of its pods (components/catalog/chart_resources.py, chart_security.py) where the stack sets none; the catalog's
    image values under the mirror."""
    out = copy.deepcopy(dict(values))
    key = catalog_key(ref)
    for default in (*CHART_RESOURCES.get(key, ()), *CHART_SECURITY.get(key, ())):
        _set_default(out, default.path, copy.deepcopy(default.value))
    if images.mirror:
        for mv in ref.mirror_values:
            _set_default(out, mv.path, _mirrored(mv, images.mirror))
    return out
