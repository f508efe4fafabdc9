"""The performance layer (runs after serving): AIPerf benchmark Jobs. The planner's report section (estimates and
cost for every model and the stack) is registered by stacks/report.py."""

from __future__ import annotations

import pulumi

from components.context import PlatformContext
from serving import benchmarks


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    benchmarks.build(ctx, parent)
