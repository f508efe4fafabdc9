"""The rule registry: every policy rule with its metadata, and how levels and config are resolved.

A rule is a plain function. Resource rules take `(resource_type, props, ctx)` and yield messages; stack rules take
`(resources, ctx)` and yield `(urn or None, message)`. `props` are engine-form inputs (camelCase), exactly as in
plan.json `inputs` and as CrossGuard passes `args.props`. `ctx` carries the rule's effective config and, for
resource rules, the resource options a rule may need (`protect`, read from plan.json or CrossGuard's
`args.opts.protect`). The offline `check` verb and the CrossGuard pack (`policies/__main__.py`) both call these
functions; neither has logic of its own.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema

Level = Literal["advisory", "mandatory", "disabled"]
LEVELS: tuple[str, ...] = ("advisory", "mandatory", "disabled")
UNKNOWN = "[unknown]"  # a value not known before apply (offline engine and CrossGuard previews alike)
SECRET = "[secret]"  # a Pulumi secret, as plan.json shows it


@dataclass(frozen=True)
class Resource:
    """One resource of a stack, in the shape both plan.json and CrossGuard provide."""

    type: str
    props: Mapping[str, Any]
    urn: str = ""
    name: str = ""
    protect: bool = False
    depends_on: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """What a reviewer recognises: `<Kind> <namespace>/<name>` for Kubernetes objects, else the name."""
        meta = self.props.get("metadata") if isinstance(self.props.get("metadata"), Mapping) else None
        if meta and meta.get("name"):
            kind = self.type.rsplit(":", 1)[-1]
            ns = meta.get("namespace")
            return f"{kind} {ns}/{meta['name']}" if ns else f"{kind} {meta['name']}"
        return f"{self.type.rsplit(':', 1)[-1]} {self.name}".strip()


@dataclass(frozen=True)
class RuleContext:
    """What a rule gets besides the resource: its effective config and the resource's options."""

    config: Mapping[str, Any] = field(default_factory=dict)
    protect: bool = False
    urn: str = ""
    name: str = ""


ResourceFn = Callable[[str, Mapping[str, Any], RuleContext], Iterable[str]]
StackFn = Callable[[Sequence[Resource], RuleContext], Iterable[tuple[str | None, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    module: str
    kind: Literal["resource", "stack"]
    level: Level
    fn: Callable[..., Iterable[Any]]
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # JSON Schema per property
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    remediation: str = ""

    def defaults(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v["default"]) for k, v in self.config_schema.items() if "default" in v}

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": dict(self.config_schema), "additionalProperties": False}


RULES: dict[str, Rule] = {}


def _register(rule: Rule) -> None:
    if rule.name in RULES and RULES[rule.name].fn is not rule.fn:
        raise ValueError(f"policy rule {rule.name!r} registered twice")
    RULES[rule.name] = rule


def resource_rule(
    name: str,
    description: str,
    *,
    level: Level,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    severity: Literal["low", "medium", "high", "critical"] = "medium",
    remediation: str = "",
) -> Callable[[ResourceFn], ResourceFn]:
    def register(fn: ResourceFn) -> ResourceFn:
        module = fn.__module__.rsplit(".", 1)[-1]
        _register(Rule(name, description, module, "resource", level, fn, dict(config or {}), severity, remediation))
        return fn

    return register


def stack_rule(
    name: str,
    description: str,
    *,
    level: Level,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    severity: Literal["low", "medium", "high", "critical"] = "medium",
    remediation: str = "",
) -> Callable[[StackFn], StackFn]:
    def register(fn: StackFn) -> StackFn:
        module = fn.__module__.rsplit(".", 1)[-1]
        _register(Rule(name, description, module, "stack", level, fn, dict(config or {}), severity, remediation))
        return fn

    return register


RULE_MODULES: tuple[str, ...] = ("security", "podsecurity", "gpu", "serving", "storage", "cost")


def load_rules() -> dict[str, Rule]:
    """Import every rule module (registration happens at import) and return the registry."""
    import importlib

    for mod in RULE_MODULES:
        importlib.import_module(f"policies.{mod}")
    return RULES


# ------------------------------------------------------------------------------------------- levels and config
class PolicyConfigError(ValueError):
    """An override names an unknown rule or level, or a rule's config does not match its schema."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems  # (key path under inference-ra:, message, fix)
        super().__init__("; ".join(f"{p}: {m} ({f})" for p, m, f in problems))


@dataclass(frozen=True)
class Settings:
    """Effective enforcement level and config of every rule for one stack."""

    levels: Mapping[str, Level]
    configs: Mapping[str, Mapping[str, Any]]


def known_rules_hint() -> str:
    return "known rules: " + ", ".join(sorted(load_rules()))


def resolve(
    enforcement: Mapping[str, str] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    derived: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Defaults <- `derived` (from the stack spec: registries, cost cap, tenants) <- `config` (the stack's
    `policy.config`). `enforcement` overrides default levels. Every problem is reported at once."""
    rules = load_rules()
    problems = check_overrides(enforcement or {}, config or {})
    if problems:
        raise PolicyConfigError(problems)
    levels: dict[str, Level] = {n: r.level for n, r in rules.items()}
    for name, level in (enforcement or {}).items():
        levels[name] = level  # type: ignore[assignment]
    configs: dict[str, dict[str, Any]] = {}
    for name, rule in rules.items():
        merged = rule.defaults()
        merged.update(copy.deepcopy(dict((derived or {}).get(name, {}))))
        merged.update(copy.deepcopy(dict((config or {}).get(name, {}))))
        configs[name] = merged
    return Settings(levels, configs)


def check_overrides(enforcement: Mapping[str, Any], config: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Problems of a `policy:` block: unknown rules, unknown levels, config not matching a rule's schema."""
    rules = load_rules()
    known = known_rules_hint()
    problems: list[tuple[str, str, str]] = []
    for name, level in sorted(enforcement.items()):
        if name not in rules:
            problems.append((f"policy.enforcement.{name}", f"unknown policy rule {name!r}", known))
        elif level not in LEVELS:
            problems.append(
                (
                    f"policy.enforcement.{name}",
                    f"unknown enforcement level {level!r}",
                    f"use one of {', '.join(LEVELS)}",
                )
            )
    for name, values in sorted(config.items()):
        if name not in rules:
            problems.append((f"policy.config.{name}", f"unknown policy rule {name!r}", known))
            continue
        rule = rules[name]
        # format checks on: `"format": "regex"` rejects a pattern Python's re cannot compile (a config error, exit 2,
        # instead of the rule failing on every resource)
        validator = jsonschema.Draft202012Validator(
            rule.schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        for err in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in err.absolute_path)
            allowed = ", ".join(sorted(rule.config_schema)) or "none"
            problems.append(
                (
                    f"policy.config.{name}{'.' + where if where else ''}",
                    _message(err),
                    f"config keys of {name}: {allowed}",
                )
            )
    return problems


def _message(err: jsonschema.ValidationError) -> str:
    if err.validator == "format" and err.validator_value == "regex":
        try:
            re.compile(str(err.instance))
        except re.error as exc:
            return f"{err.instance!r} is not a valid regular expression: {exc}"
    return err.message
