"""Policy results of each head plan for the review report: the same rule functions `inference-ra check` runs."""

from __future__ import annotations

from typing import Any

from components.loader import SpecError, read_stack_file, spec_from_stack_file
from components.spec import StackSpec
from policies.runner import evaluate, resources_from_plan, settings_for
from stacks.review import Review


def head_spec(stack: str) -> StackSpec | None:
    """The head side's spec (its policy overrides), when the working tree has that stack."""
    try:
        return spec_from_stack_file(read_stack_file(stack))
    except SpecError:
        return None


def policy_findings(plan: dict[str, Any], spec: StackSpec | None) -> list[dict[str, str]]:
    return [
        {"rule": f.rule, "level": f.level, "resource": f.resource, "message": f.message}
        for f in evaluate(resources_from_plan(plan), settings_for(spec))
    ]


def attach_policy(review: Review, head_plans: dict[str, dict[str, Any]]) -> None:
    for stack, plan in head_plans.items():
        if plan.get("resources"):
            review.policy[stack] = policy_findings(plan, head_spec(stack))
