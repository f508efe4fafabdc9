"""`validate` over rendered chart objects (the hook-in from stacks/validate.py): schemas, per-chart counts,
triaged upstream defects, and reference integrity over the plan and every chart together."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from components.catalog.upstream_defects import UPSTREAM_DEFECTS, UpstreamDefect
from components.charts import CHART_TYPES

if TYPE_CHECKING:
    from components.spec import StackSpec
    from stacks.charts.loaded import ChartObject, ChartView
    from stacks.validate import Result, Validator


def known_defect(view: ChartView, obj: ChartObject, message: str) -> UpstreamDefect | None:
    for d in UPSTREAM_DEFECTS:
        matches = d.chart == view.chart and d.version == view.version and obj.template.endswith(d.template)
        if matches and d.message in message:
            return d
    return None


def validate_with_charts(
    validator: Validator,
    plan_json: dict[str, Any],
    views: list[ChartView] | None,
    spec: StackSpec | None = None,
    *,
    objects: list[dict[str, Any]] | None = None,
) -> Result:
    """`Validator.validate_plan`, then (with `views`) every rendered chart object and the references between all
    objects of the plan and its charts."""
    result = validator.validate_plan(plan_json, objects=objects)
    if views is not None:
        check_rendered(validator, plan_json, views, result, spec)
    return result


def check_rendered(
    validator: Validator,
    plan_json: Mapping[str, Any],
    views: list[ChartView],
    result: Result,
    spec: StackSpec | None = None,
) -> None:
    from stacks.references import check_references
    from stacks.validate import ChartCount, Finding, crd_index

    plan_crds = [
        r.get("inputs") or {}
        for r in plan_json.get("resources", [])
        if r.get("type") not in CHART_TYPES and (r.get("inputs") or {}).get("kind") == "CustomResourceDefinition"
    ]
    chart_crds = [dict(o.obj) for v in views for o in v.objects if o.kind == "CustomResourceDefinition"]
    stack_crds = crd_index(chart_crds + plan_crds)
    for view in views:
        count = result.charts.setdefault(view.release, ChartCount())
        if view.skipped:
            count.findings += 1
            result.findings.append(
                Finding(view.label, "", f"not rendered, so none of its objects was checked: {view.skipped}")
            )
            continue
        for obj in view.objects:
            count.objects += 1
            for f in validator.validate_object(dict(obj.obj), stack_crds):
                finding = Finding(f"{view.label} {f.resource}", f"{obj.template}: {f.path}".rstrip(": "), f.message)
                defect = known_defect(view, obj, f.message)
                if defect is not None:
                    count.upstream += 1
                    result.upstream.append(Finding(finding.resource, finding.path, f"{f.message} [{defect.reason}]"))
                else:
                    count.findings += 1
                    result.findings.append(finding)
    by_release = {v.release: v for v in views}
    for finding in check_references(plan_json, views, spec):
        result.findings.append(finding)
        for release, count in result.charts.items():
            if f"chart {release} template" in finding.resource and release in by_release:
                count.findings += 1
