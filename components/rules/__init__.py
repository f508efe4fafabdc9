"""Cross-field and cross-layer spec rules, gathered in one pass after the fields validate.

A rule is a function `StackSpec -> Iterable[Problem]` registered with `@rule("name")`. Each layer keeps its rules
in its own module in this package; every module here is imported by `check_spec`, so adding a file adds its rules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
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


def check_spec(spec: StackSpec) -> list[Problem]:
    """Run every registered rule; problems sorted by path so output is stable."""
    problems: list[Problem] = []
    for _name, fn in sorted(load_rule_modules().items()):
        problems.extend(fn(spec))
    return sorted(problems, key=lambda p: (p.path, p.message))
