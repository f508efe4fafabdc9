"""The report.md section with the policy results of a plan (appended to stacks/report.SECTIONS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from policies.registry import PolicyConfigError, Resource
from policies.runner import evaluate, mandatory, settings_for

if TYPE_CHECKING:
    from stacks.engine import Plan


def policy_section(plan: Plan) -> str:
    lines = ["## Policy results", ""]
    try:
        settings = settings_for(plan.spec)
    except PolicyConfigError as exc:
        return "\n".join([*lines, f"Policy config invalid: {exc}"])
    resources = [Resource(r.type, r.inputs, r.urn, r.name, r.protect, tuple(r.depends_on)) for r in plan.resources]
    from stacks.charts.loaded import chart_resources, views_from_plan

    resources += chart_resources(views_from_plan(plan))  # chart pods and objects are checked like the stack's own
    findings = evaluate(resources, settings)
    blocking = mandatory(findings)
    lines.append(
        f"`inference-ra check {plan.stack}`: {len(blocking)} mandatory, {len(findings) - len(blocking)} advisory "
        f"violation(s) over {sum(1 for lvl in settings.levels.values() if lvl != 'disabled')} rules."
    )
    if findings:
        lines += ["", "| rule | level | resource | message |", "|---|---|---|---|"]
        for f in findings:
            msg = f.message.replace("|", "\\|")
            lines.append(f"| {f.rule} | {f.level} | {f.resource} | {msg} |")
    return "\n".join(lines)
