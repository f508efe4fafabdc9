"""Run the policy rules over a stack's resources: the offline path (`inference-ra check`, report.md).

Resources come from plan.json (or the engine's registrations); settings come from the stack's `policy` key plus
what the rules derive from the rest of the spec (allowed registries, the cost cap and declared pools, tenant
namespaces). The CrossGuard pack builds the same settings from the same spec (policies/crossguard.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.namespaces import model_namespace
from policies.registry import Level, Resource, RuleContext, Settings, load_rules, resolve

if TYPE_CHECKING:
    from components.spec import StackSpec


@dataclass(frozen=True)
class Finding:
    rule: str
    level: Level
    urn: str  # "" for a finding about the whole stack
    resource: str  # what a reviewer recognises: "<Kind> <ns>/<name>", the resource name, or "(stack)"
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level,
            "urn": self.urn,
            "resource": self.resource,
            "message": self.message,
        }


def resources_from_plan(plan_json: Mapping[str, Any]) -> list[Resource]:
    """plan.json resources (DESIGN.md plan output contract) as rule inputs."""
    out = []
    for r in plan_json.get("resources", []):
        out.append(
            Resource(
                type=str(r.get("type", "")),
                props=r.get("inputs") or {},
                urn=str(r.get("urn", "")),
                name=str(r.get("name", "")),
                protect=bool(r.get("protect", False)),
                depends_on=tuple(r.get("dependsOn") or ()),
            )
        )
    return out


def runtime_pod_levels(spec: StackSpec) -> dict[str, str]:
    """{namespace: level} of the pods the stack's operators create at run time (components/catalog/pod_levels.py)."""
    from components.catalog.pod_levels import loosest, runtime_levels
    from components.namespaces import chart_releases

    out: dict[str, str] = {}
    for namespace, charts in sorted(chart_releases(spec).items()):
        for chart in sorted(charts):
            for ns, level in runtime_levels(chart, namespace).items():
                out[ns] = loosest(out.get(ns, ""), level)
    return out


def derived_config(spec: StackSpec) -> dict[str, dict[str, Any]]:
    """Per-rule config that follows from the stack spec rather than from `policy.config`."""
    pools = []
    for pool in spec.gpu_pools:
        pools.append({"name": pool.name, "nodeType": pool.instance_type, "maxNodes": pool.nodes.max})
    return {
        "images-allowed-registries": {"allowedRegistries": list(spec.policy.allowed_registries)},
        "pod-security-least-privilege": {"runtimeLevels": runtime_pod_levels(spec)},
        "cost-cap": {"maxHourlyCostUsd": spec.policy.max_hourly_cost_usd, "declaredPools": pools},
        "tenant-default-deny": {
            "tenantNamespaces": sorted(
                {q.resolved_namespace for q in spec.scheduling.queues}
                | {model_namespace(spec, m.name) for m in spec.serving.models}  # tenants or not (issue 17.12)
            ),
        },
    }


def settings_for(spec: StackSpec | None) -> Settings:
    """Effective settings of a stack (defaults when no spec is known). Raises PolicyConfigError."""
    if spec is None:
        return resolve()
    return resolve(spec.policy.enforcement, spec.policy.config, derived_config(spec))


def _label(r: Resource) -> str:
    return r.label


def evaluate(resources: Sequence[Resource], settings: Settings) -> list[Finding]:
    """Every violation of every enabled rule, in a stable order (rule, resource, message)."""
    rules = load_rules()
    by_urn = {r.urn: r for r in resources if r.urn}
    findings: list[Finding] = []
    for name, rule in sorted(rules.items()):
        level = settings.levels[name]
        if level == "disabled":
            continue
        config = settings.configs[name]
        if rule.kind == "resource":
            for r in resources:
                ctx = RuleContext(config=config, protect=r.protect, urn=r.urn, name=r.name)
                for msg in _guard(rule.fn, r.type, r.props, ctx):
                    findings.append(Finding(name, level, r.urn, _label(r), str(msg)))
        else:
            ctx = RuleContext(config=config)
            for item in _guard(rule.fn, resources, ctx):
                urn, msg = item if isinstance(item, tuple) else (None, str(item))
                target = by_urn.get(urn or "")
                findings.append(Finding(name, level, urn or "", _label(target) if target else "(stack)", msg))
    return sorted(findings, key=lambda f: (f.rule, f.resource, f.message))


def _guard(fn: Any, *args: Any) -> Iterable[Any]:
    """A rule that crashes is reported as its own finding, never as a traceback."""
    try:
        return list(fn(*args))
    except Exception as exc:  # a rule bug must not hide the other findings
        return [f"rule failed: {type(exc).__name__}: {exc}" if len(args) == 3 else (None, f"rule failed: {exc}")]


def mandatory(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "mandatory"]
