"""The performance layer (runs after serving): AIPerf benchmark Jobs, optimization Jobs not yet built by an
earlier layer, and the planner's report section (estimates and cost for every model and the stack)."""

from __future__ import annotations

import pulumi

from components.platform import PlatformContext
from serving import benchmarks, optimization
from serving.planner.report import planner_section
from stacks import report

if planner_section not in report.SECTIONS:
    report.SECTIONS.append(planner_section)


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    optimization.build(ctx, parent)  # no-op when the optimization layer already ran before serving
    benchmarks.build(ctx, parent)
