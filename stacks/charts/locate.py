"""Where the offline renderer reads a chart the plan installs.

- `charts.source: local`: the very path the plan passes to the chart resource (relative to stacks/), the files
  `pulumi up` installs.
- `repositories` / `oci`: synth has no network, so it renders a local copy of the same pinned chart: the directory
  given by `--charts-dir` / `INFERENCE_RA_CHARTS_DIR` (the Makefile points it at ../shared/upstream/charts), holding
  `<name>/` or `<name>-<version>.tgz`. Without one, synth fails (exit 2) unless rendering is explicitly waived
  (`--allow-unrendered-charts`), which `validate` then reports as unchecked.
Either way the chart's own Chart.yaml must carry the pinned name and version: a different copy is an error.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.catalog import CHARTS
from components.catalog.versions import ChartRef
from components.charts import STACKS_DIR

ENV_CHARTS_DIR = "INFERENCE_RA_CHARTS_DIR"
_DEFAULT_UPSTREAM = Path(__file__).resolve().parents[2].parent / "shared" / "upstream" / "charts"


class ChartSourceError(Exception):
    """A chart the plan installs cannot be found or is not the pinned one (bad input: exit 2)."""


def default_charts_dir() -> Path | None:
    """`INFERENCE_RA_CHARTS_DIR`, else ../shared/upstream/charts when present (as the CRD dir is found)."""
    env = os.environ.get(ENV_CHARTS_DIR)
    if env:
        return Path(env)
    return _DEFAULT_UPSTREAM if _DEFAULT_UPSTREAM.is_dir() else None


def catalog_entry(inputs: dict[str, Any]) -> ChartRef:
    """The catalog entry a chart resource installs (by chart name and pinned version)."""
    ref = str(inputs.get("chart") or "")
    version = str(inputs.get("version") or "")
    last = ref.rstrip("/").rsplit("/", 1)[-1]
    for entry in CHARTS.values():
        if entry.version == version and last in (entry.name, f"{entry.name}-{entry.version}.tgz"):
            return entry
    raise ChartSourceError(f"chart {ref!r} version {version!r} is not in the chart catalog (components/catalog)")


@dataclass(frozen=True)
class LocatedChart:
    ref: ChartRef
    path: Path  # directory or .tgz on this machine
    source: str  # what the plan installs from, machine-independent (no local absolute path)
    digest: str  # sha256 of the chart's files (directory) or archive


def digest_of(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_file():
        h.update(path.read_bytes())
    else:
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode() + b"\0")
            h.update(f.read_bytes())
            h.update(b"\0")
    return "sha256:" + h.hexdigest()


def _in_dir(base: Path, ref: ChartRef) -> Path | None:
    for candidate in (base / ref.name, base / f"{ref.name}-{ref.version}.tgz"):
        if candidate.exists():
            return candidate
    return None


def locate(inputs: dict[str, Any], charts_dir: Path | None, stacks_dir: Path = STACKS_DIR) -> LocatedChart:
    ref = catalog_entry(inputs)
    chart = str(inputs.get("chart") or "")
    repo = str((inputs.get("repositoryOpts") or {}).get("repo") or "")
    if chart.startswith("oci://") or repo or "/" not in chart:
        source = f"{repo} {chart}" if repo else chart
        if charts_dir is None:
            raise ChartSourceError(
                f"chart {ref.name}@{ref.version} comes from {source}, which synth cannot reach offline: give a local "
                f"copy with --charts-dir or {ENV_CHARTS_DIR} (e.g. ../shared/upstream/charts), set "
                "`charts.source: local`, or pass --allow-unrendered-charts to skip rendering"
            )
        path = _in_dir(charts_dir, ref)
        if path is None:
            raise ChartSourceError(
                f"chart {ref.name}@{ref.version}: neither {ref.name}/ nor {ref.name}-{ref.version}.tgz in {charts_dir}"
            )
    else:  # a local path, as the plan passes it (relative to stacks/)
        source = f"local {chart}"
        path = Path(chart) if Path(chart).is_absolute() else stacks_dir / chart
        if not path.exists():
            raise ChartSourceError(f"chart {ref.name}@{ref.version}: {path} does not exist (charts.localDir)")
    return LocatedChart(ref, path, source, digest_of(path))


_DEFAULTS: dict[str, tuple[dict[str, Any], str]] = {}


def chart_defaults(inputs: dict[str, Any], charts_dir: Path | None) -> tuple[dict[str, Any], str] | None:
    """(coalesced default values, the chart's template text) of the chart a resource installs, or None when it
    cannot be found here (the caller then validates against the reference values.yaml alone)."""
    from stacks.charts.helm import HelmRenderError, coalesced_defaults

    try:
        located = locate(inputs, charts_dir)
    except ChartSourceError:
        return None
    if located.digest not in _DEFAULTS:
        try:
            _DEFAULTS[located.digest] = coalesced_defaults(located.path)
        except HelmRenderError:
            return None
    return _DEFAULTS[located.digest]
