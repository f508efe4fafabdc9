"""Writing a plan to disk: plan.json, manifests/, report.md — atomically, byte-identical across runs."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from components.charts import CHART_TYPES
from stacks.engine import Plan, Registration


def dump_yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True, width=120)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_k8s_object(r: Registration) -> bool:
    return (
        r.custom
        and r.type.startswith("kubernetes:")
        and r.type not in CHART_TYPES
        and "apiVersion" in r.inputs
        and "kind" in r.inputs
    )


def k8s_objects(plan: Plan) -> Iterator[dict[str, Any]]:
    for r in sorted(plan.resources, key=lambda r: r.urn):
        if is_k8s_object(r):
            yield r.inputs


def manifest_path(obj: dict[str, Any], patch: bool = False) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or "_cluster"
    suffix = ".patch" if patch else ""
    return f"{ns}/{obj['kind']}-{meta.get('name')}{suffix}.yaml"


def write_chart_objects(plan: Plan, manifests: Path) -> None:
    """Rendered chart objects (stacks/charts) as manifests/_charts/<release>/<ns or _cluster>/<kind>-<name>.yaml."""
    if plan.charts is None:
        return
    for written in plan.charts.written.values():
        for w in written:
            path = manifests / w.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(w.text, encoding="utf-8")


def write_plan(plan: Plan, out_dir: Path, report_md: str) -> Path:
    """Write into a temporary sibling, then swap in: a failed write never leaves a half-written out/ dir."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        (tmp / "plan.json").write_text(dump_json(plan.to_json()), encoding="utf-8")
        seen: set[str] = set()
        for r in sorted(plan.resources, key=lambda r: r.urn):
            if not is_k8s_object(r):
                continue
            rel = manifest_path(r.inputs, patch=r.type.endswith("Patch"))
            if rel in seen:
                raise ValueError(f"two objects render to manifests/{rel}")
            seen.add(rel)
            path = tmp / "manifests" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dump_yaml(r.inputs), encoding="utf-8")
        write_chart_objects(plan, tmp / "manifests")
        (tmp / "report.md").write_text(report_md, encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
