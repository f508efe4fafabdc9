"""Cross-field and cross-layer spec rules, gathered in one pass after the fields validate.

A rule is a function `StackSpec -> Iterable[Problem]` registered with `@rule("name")`. Each layer keeps its rules
in its own module in this package; every module here is imported by `check_spec`, so adding a file adds its rules.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.spec import StackSpec

_UNSET: Any = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack's config, addressed by its key path under `inference-ra:`."""

    path: str
    message: str
    got: Any = field(default=_UNSET)
    fix: str = ""
    internal: bool = False  # a check failed (a bug), not the config: the CLI exits 1, not 2

    def render(self) -> str:
        details = []
        if self.got is not _UNSET:
            details.append(f"got {_show(self.got)}")
        if self.fix:
            details.append(self.fix)
        suffix = f" ({'; '.join(details)})" if details else ""
        return f"inference-ra:{self.path}: {self.message}{suffix}"


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 120 else text[:117] + "..."


RuleFn = Callable[["StackSpec"], Iterable[Problem]]
RULES: dict[str, RuleFn] = {}


def rule(name: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        if name in RULES and RULES[name] is not fn:
            raise ValueError(f"spec rule {name!r} registered twice")
        RULES[name] = fn
        return fn

    return register


_loaded = False


def load_rule_modules() -> dict[str, RuleFn]:
    global _loaded
    if not _loaded:
        for mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
            importlib.import_module(f"{__name__}.{mod}")
        _loaded = True
    return RULES


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """ "did you mean `x`?" for the closest known names (difflib), or "" when nothing is close."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    if not close:
        return ""
    return "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"


def one_of(value: str, choices: Sequence[str]) -> str:
    """The fix of an unknown name: the close matches first, then every allowed name."""
    hint = did_you_mean(value, choices) if len(choices) > 1 else ""
    return (f"{hint} " if hint else "") + f"use one of {sorted(choices)}"


def internal_problem(check: str, exc: BaseException) -> Problem:
    return Problem(
        "(internal)",
        f"the check {check} failed: {type(exc).__name__}: {exc}",
        fix="this is a bug in inference-ra, not in your config; please report it with the stack file",
        internal=True,
    )


def check_spec(spec: StackSpec) -> list[Problem]:
    """Run every registered rule; problems sorted by path so output is stable. A rule that raises is reported as an
    internal problem naming the rule, and every other rule still runs."""
    problems: list[Problem] = []
    for name, fn in sorted(load_rule_modules().items()):
        try:
            problems.extend(fn(spec))
        except Exception as exc:  # one rule's bug must not hide the others' findings, nor become a traceback
            problems.append(internal_problem(f"spec rule {name!r} ({fn.__module__})", exc))
    return sorted(problems, key=lambda p: (p.path, p.message))
