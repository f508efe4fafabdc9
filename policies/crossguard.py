"""The CrossGuard side: wrap every registered rule into a pulumi_policy policy, with the stack's levels and config.

Importable without starting anything (tests build the policies and call `validate` with real
`ResourceValidationArgs`); only `policies/__main__.py` hands them to `PolicyPack`, whose constructor serves forever.

Levels and config: the rule's default, then the stack's `inference-ra:policy` key and what follows from the rest of
the stack config, then whatever `--policy-pack-config` / the Pulumi Cloud policy group sets, which CrossGuard applies
on top. The engine sends the stack's config in the analyzer's ConfigureStack call, before it asks for the
policies (pkg/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer); pulumi_policy accepts that call and drops
the config, so policies/__main__.py hands it to `configure_stack` (found by `make e2e`: reading it from the
environment, as before, never saw it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.registry import UNKNOWN, Resource, Rule, RuleContext, Settings, load_rules, resolve

_UNKNOWN_SENTINELS = {
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
}  # pulumi_policy.proxy UNKNOWN_*_VALUE: values not known during preview


def plain(value: Any) -> Any:
    """CrossGuard props (unknown-checking proxies) -> plain dicts/lists, unknowns as "[unknown]" like plan.json.

    Rules then treat a preview-time unknown the way they treat it offline, instead of the proxy aborting the
    whole rule with UnknownValueError on first access."""
    target = value
    if isinstance(value, Mapping) and not isinstance(value, dict):
        target = value["__target"]
    elif type(value).__name__ == "_ListProxy":
        target = value["__target"]  # type: ignore[index]
    if isinstance(target, Mapping):
        return {str(k): plain(v) for k, v in target.items()}
    if isinstance(target, list | tuple):
        return [plain(v) for v in target]
    if isinstance(target, str) and target in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return target


@dataclass
class LiveSettings:
    """The settings the policies read at validation time; `configure_stack` replaces them with the stack's."""

    settings: Settings


def settings_from_stack_config(config: Mapping[str, str]) -> Settings:
    """Settings of the stack whose config (`namespace:key` -> value, objects JSON-encoded) the engine sent.
    Raises SpecError / PolicyConfigError for config the program itself rejects (fail closed)."""
    from components.loader import NAMESPACE, spec_from_mapping
    from policies.runner import settings_for

    data: dict[str, Any] = {}
    for key, raw in config.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        try:
            data[name] = json.loads(raw)
        except ValueError:
            data[name] = raw
    return settings_for(spec_from_mapping(data, region=config.get("aws:region"), source="stack config"))


def configure_stack(policies: Sequence[Policy], live: LiveSettings, config: Mapping[str, str]) -> None:
    """Apply the stack's config: levels onto the policies, rule config into `live`."""
    live.settings = settings_from_stack_config(config)
    for policy in policies:
        policy.enforcement_level = EnforcementLevel(live.settings.levels[policy.name])


def _merged(live: LiveSettings, rule: Rule, args: ResourceValidationArgs | StackValidationArgs) -> dict[str, Any]:
    cfg = dict(live.settings.configs[rule.name])
    cfg.update(plain(args.get_config() or {}))
    return cfg


def _resource_validate(rule: Rule, settings: LiveSettings) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        ctx = RuleContext(
            config=_merged(settings, rule, args), protect=bool(args.opts.protect), urn=args.urn, name=args.name
        )
        for message in rule.fn(args.resource_type, plain(args.props), ctx):
            report(f"{message}. Fix: {rule.remediation}" if rule.remediation else message, None)

    return validate


def _stack_validate(rule: Rule, settings: LiveSettings) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [
            Resource(
                type=r.resource_type,
                props=plain(r.props),
                urn=r.urn,
                name=r.name,
                protect=bool(r.opts.protect),
                depends_on=tuple(d.urn for d in r.dependencies),
            )
            for r in args.resources
        ]
        ctx = RuleContext(config=_merged(settings, rule, args))
        for urn, message in rule.fn(resources, ctx):
            report(f"{message}. Fix: {rule.remediation}" if rule.remediation else message, urn)

    return validate


def _schema(rule: Rule) -> PolicyConfigSchema | None:
    """The rule's config schema without its defaults. The engine fills every schema default into the config it
    hands each policy (pkg/resource/analyzer/config.go `createConfigWithDefaults`, then `--policy-pack-config` on
    top), and `_merged` lays that config over the stack's settings: a default there would overwrite what the stack
    derives (policy.allowedRegistries, declared pools, ...). The defaults already live in the stack's settings
    (policies/registry.py `resolve`), so only explicit pack config reaches the rule over them (found by `make e2e`)."""
    if not rule.config_schema:
        return None
    properties = {k: {f: v for f, v in dict(prop).items() if f != "default"} for k, prop in rule.config_schema.items()}
    return PolicyConfigSchema(properties=properties)


def build_policies(settings: Settings | LiveSettings | None = None) -> list[Policy]:
    """One CrossGuard policy per registered rule, at the stack's level, with its config schema."""
    live = settings if isinstance(settings, LiveSettings) else LiveSettings(settings or resolve())
    settings = live.settings
    policies: list[Policy] = []
    for name, rule in sorted(load_rules().items()):
        common: dict[str, Any] = {
            "name": name,
            "description": rule.description,
            "enforcement_level": EnforcementLevel(settings.levels[name]),
            "config_schema": _schema(rule),
            "severity": Severity(rule.severity),
            "tags": [rule.module],
            "remediation_steps": rule.remediation or None,
        }
        if rule.kind == "resource":
            policies.append(ResourceValidationPolicy(validate=_resource_validate(rule, live), **common))
        else:
            policies.append(StackValidationPolicy(validate=_stack_validate(rule, live), **common))
    return policies
