"""Spec rules of the `policy` key: overrides name known policy rules and levels, and config fits each rule's schema.

Checked with the rest of the spec, so `synth`, `validate`, `check` and `pulumi up` all reject a typo in a rule name
(exit 2 offline) and list the known rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from components.rules import Problem, rule
from components.spec import StackSpec


@rule("policy-overrides")
def policy_overrides(spec: StackSpec) -> Iterator[Problem]:
    from policies.registry import check_overrides

    for path, message, fix in check_overrides(spec.policy.enforcement, spec.policy.config):
        yield Problem(path, message, fix=fix)
