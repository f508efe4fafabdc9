"""Rendered chart objects as the checks read them, from a synthesized Plan or back from a plan directory.

plan.json lists each chart resource's objects (`rendered.objects`, with their manifests/ file) and hooks
(`rendered.hooks`); a plan directory holds the object files. `validate`, `check`, the reference check and `diff` work
the same on both. A chart listed as skipped (synth --allow-unrendered-charts) is kept so that the checks can say
they did not run on it (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from components.charts import CHART_TYPES

if TYPE_CHECKING:
    from policies.registry import Resource
    from stacks.engine import Plan

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ChartObject:
    template: str
    file: str  # under manifests/
    obj: Mapping[str, Any]
    hook: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")

    @property
    def namespace(self) -> str:
        return str((self.obj.get("metadata") or {}).get("namespace") or "")


@dataclass(frozen=True)
class ChartHook:
    kind: str
    name: str
    namespace: str
    template: str
    events: tuple[str, ...]
    runs: bool  # Helm runs it at install (a helm.v3.Release install hook)


@dataclass(frozen=True)
class ChartView:
    urn: str
    release: str
    namespace: str
    chart: str
    version: str
    deploy: str  # helm.v4.Chart | helm.v3.Release
    objects: tuple[ChartObject, ...] = ()
    hooks: tuple[ChartHook, ...] = ()
    skipped: str = ""  # why the chart was not rendered (empty when it was)

    @property
    def label(self) -> str:
        return f"chart {self.release} ({self.chart}@{self.version})"


def views_from_plan(plan: Plan) -> list[ChartView]:
    """Views of a synthesized plan's charts (objects in memory)."""
    out: list[ChartView] = []
    if plan.charts is None:
        return out
    from stacks.charts import rendered_json

    by_urn = plan.charts.by_urn()
    for r in sorted(plan.resources, key=lambda r: r.urn):
        if r.type not in CHART_TYPES:
            continue
        rendering = by_urn.get(r.urn)
        if rendering is None:
            reason = plan.charts.skipped.get(r.urn, "not rendered")
            out.append(_skipped(r.urn, r.name, r.inputs, reason))
            continue
        written = plan.charts.written[r.urn]
        doc = rendered_json(rendering, written)
        objects = tuple(ChartObject(w.rendered.template, w.file, w.rendered.obj, w.rendered.hook) for w in written)
        out.append(_view(r.urn, r.name, r.inputs, doc, objects))
    return out


def views_from_dir(plan_json: Mapping[str, Any], plan_dir: Path) -> list[ChartView]:
    """Views of a plan directory's charts (objects read from manifests/)."""
    out: list[ChartView] = []
    for r in plan_json.get("resources", []):
        if r.get("type") not in CHART_TYPES:
            continue
        inputs = r.get("inputs") or {}
        doc = r.get("rendered")
        if not isinstance(doc, Mapping) or "objects" not in doc:
            reason = doc.get("skipped") if isinstance(doc, Mapping) else None
            out.append(_skipped(r["urn"], r.get("name", ""), inputs, reason or "plan.json lists no rendered objects"))
            continue
        objects = []
        for entry in doc["objects"]:
            path = plan_dir / "manifests" / entry["file"]
            obj = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
            objects.append(ChartObject(entry["template"], entry["file"], obj, tuple(entry.get("hook") or ())))
        out.append(_view(r["urn"], r.get("name", ""), inputs, doc, tuple(objects)))
    return out


def _skipped(urn: str, name: str, inputs: Mapping[str, Any], reason: str) -> ChartView:
    chart = str(inputs.get("chart") or "").rstrip("/").rsplit("/", 1)[-1]
    return ChartView(
        urn, name, str(inputs.get("namespace") or ""), chart, str(inputs.get("version") or ""), "", skipped=reason
    )


def _view(
    urn: str, name: str, inputs: Mapping[str, Any], doc: Mapping[str, Any], objects: tuple[ChartObject, ...]
) -> ChartView:
    hooks = tuple(
        ChartHook(h["kind"], h["name"], h.get("namespace") or "", h["template"], tuple(h["events"]), bool(h["runs"]))
        for h in doc.get("hooks", [])
    )
    return ChartView(
        urn,
        name,
        str(inputs.get("namespace") or ""),
        str(doc.get("chart") or ""),
        str(doc.get("version") or ""),
        str(doc.get("deploy") or ""),
        objects,
        hooks,
    )


def child_type(api_version: str, kind: str) -> str:
    """The Pulumi type token a chart child registers under (as pulumi-kubernetes' yaml/v2 RegisterResource)."""
    from components.k8s import builtin_type_token, is_builtin

    if is_builtin(api_version):
        try:
            return builtin_type_token(api_version, kind)
        except AttributeError:
            pass
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


def child_urn(view: ChartView, obj: ChartObject) -> str:
    """The URN Pulumi gives a chart child: parent chain + child type, name `<release>-<ns>/<name>`."""
    head, _, _ = view.urn.rpartition("::")
    name = f"{obj.namespace}/{obj.name}" if obj.namespace else obj.name
    return f"{head}${child_type(str(obj.obj.get('apiVersion') or ''), obj.kind)}::{view.release}-{name}"


def chart_resources(views: list[ChartView]) -> list[Resource]:
    """Rendered chart objects as policy inputs (the same shape CrossGuard gives a chart's children)."""
    from policies.registry import Resource

    out = []
    for view in views:
        for obj in view.objects:
            urn = child_urn(view, obj)
            out.append(
                Resource(
                    type=child_type(str(obj.obj.get("apiVersion") or ""), obj.kind),
                    props=obj.obj,
                    urn=urn,
                    name=urn.rsplit("::", 1)[-1],
                    depends_on=(view.urn,),
                )
            )
    return out


def plan_with_chart_objects(plan_json: Mapping[str, Any], plan_dir: Path) -> dict[str, Any]:
    """plan.json with every rendered chart object added as a resource (the chart's child, as Pulumi registers it),
    so that `diff` shows changes inside charts and its policy pass sees chart pods. Charts not rendered add none."""
    out = dict(plan_json)
    resources = list(plan_json.get("resources", []))
    for view in views_from_dir(plan_json, plan_dir):
        for obj in view.objects:
            urn = child_urn(view, obj)
            resources.append(
                {
                    "urn": urn,
                    "type": child_type(str(obj.obj.get("apiVersion") or ""), obj.kind),
                    "name": urn.rsplit("::", 1)[-1],
                    "parent": view.urn,
                    "provider": "",
                    "dependsOn": [],
                    "protect": False,
                    "retainOnDelete": False,
                    "inputs": dict(obj.obj),
                    "chartTemplate": obj.template,
                }
            )
    out["resources"] = resources
    return out
