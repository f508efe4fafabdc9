"""The registry: metadata of every rule, level and config resolution, and bad overrides."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from components.loader import SpecError, spec_from_mapping
from policies.registry import LEVELS, PolicyConfigError, load_rules, resolve
from policies.runner import derived_config, settings_for

ISSUE_RULES = {
    "gpu-pools-tainted",
    "gpu-workloads-tolerate-and-limit",
    "no-privileged-pods",
    "images-pinned",
    "images-allowed-registries",
    "container-resources",
    "imdsv2-required",
    "ebs-encrypted",
    "fsx-encrypted",
    "s3-encrypted",
    "eks-secrets-encrypted",
    "s3-public-access-blocked",
    "no-open-ingress",
    "eks-endpoint-restricted",
    "stateful-protected",
    "no-secret-literals",
    "rdma-for-disaggregated",
    "pdb-per-graph",
    "tenant-default-deny",
    "dcgm-exporter-enabled",
    "cost-cap",
    # issue 19
    "pod-security-admission",
    "pod-hardening",
    "pod-hardening-upstream-gap",
    "pod-security-least-privilege",
    "network-egress-justified",
    "images-digest-pinned",
}


def test_every_rule_of_the_issue_is_registered_with_metadata() -> None:
    rules = load_rules()
    assert set(rules) == ISSUE_RULES
    for name, rule in rules.items():
        assert rule.description and rule.remediation, name
        assert rule.level in LEVELS and rule.module in (
            "security",
            "podsecurity",
            "gpu",
            "serving",
            "storage",
            "cost",
        ), name
        jsonschema.Draft202012Validator.check_schema(rule.schema())
        jsonschema.validate(rule.defaults(), rule.schema())  # defaults fit their own schema


def test_every_rule_is_tested_both_ways() -> None:
    text = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py") if p.name != Path(__file__).name)
    for name in ISSUE_RULES:
        assert f'"{name}"' in text, f"{name} has no test"


def test_overrides_and_config_resolve() -> None:
    settings = resolve({"pdb-per-graph": "mandatory", "cost-cap": "disabled"}, {"cost-cap": {"maxHourlyCostUsd": 5}})
    assert settings.levels["pdb-per-graph"] == "mandatory" and settings.levels["cost-cap"] == "disabled"
    assert settings.configs["cost-cap"] == {"maxHourlyCostUsd": 5, "declaredPools": [], "pricesUsd": {}}
    assert settings.levels["images-pinned"] == "mandatory"  # default kept


def test_rejects_unknown_rule_level_and_config() -> None:
    with pytest.raises(PolicyConfigError) as exc:
        resolve({"no-such-rule": "mandatory", "images-pinned": "loud"}, {"cost-cap": {"maxHourlyCost": 1}})
    problems = {p: (m, f) for p, m, f in exc.value.problems}
    assert problems["policy.enforcement.no-such-rule"][0] == "unknown policy rule 'no-such-rule'"
    assert (
        "known rules: container-resources, cost-cap, dcgm-exporter-enabled, "
        in problems["policy.enforcement.no-such-rule"][1]
    )
    assert problems["policy.enforcement.images-pinned"] == (
        "unknown enforcement level 'loud'",
        "use one of advisory, mandatory, disabled",
    )
    assert "maxHourlyCost" in problems["policy.config.cost-cap"][0]


def _spec(policy: dict) -> dict:
    return {
        "cluster": {"provider": "existing", "name": "c-test"},
        "gpuPools": [
            {
                "name": "h100",
                "gpu": "h100-sxm-80gb",
                "instanceType": "dgx-h100",
                "nodes": {"min": 1, "max": 2},
                "nodeNames": ["n1", "n2"],
            }
        ],
        "scheduling": {"queues": [{"name": "team-a"}, {"name": "team-b", "namespace": "b"}]},
        "policy": policy,
    }


def test_spec_rule_rejects_unknown_policy_rule() -> None:
    with pytest.raises(SpecError) as exc:
        spec_from_mapping(_spec({"enforcement": {"imds": "advisory"}}))
    rendered = [p.render() for p in exc.value.problems]
    assert any(
        r.startswith("inference-ra:policy.enforcement.imds: unknown policy rule 'imds' (known rules:") for r in rendered
    )


def test_derived_config_from_spec() -> None:
    spec = spec_from_mapping(_spec({"maxHourlyCostUsd": 100, "allowedRegistries": ["nvcr.io"]}))
    derived = derived_config(spec)
    assert derived["cost-cap"] == {
        "maxHourlyCostUsd": 100,
        "declaredPools": [{"name": "h100", "nodeType": "dgx-h100", "maxNodes": 2}],
    }
    assert derived["tenant-default-deny"]["tenantNamespaces"][:2] == ["b", "team-a"]
    assert settings_for(spec).configs["images-allowed-registries"] == {"allowedRegistries": ["nvcr.io"]}


def test_docs_list_every_rule_with_its_default_level() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    for name, rule in load_rules().items():
        assert f"| `{name}` | {rule.module} | {rule.level} |" in doc, f"docs/policy.md misses {name}"


def test_rejects_an_invalid_regex_in_rule_config_as_a_config_error() -> None:
    """An uncompilable pattern is exit 2 at the key path, not a "rule failed" violation on every resource."""
    with pytest.raises(PolicyConfigError) as info:
        resolve(config={"no-secret-literals": {"extraPatterns": ["(unclosed"]}})
    ((path, message, _fix),) = info.value.problems
    assert path == "policy.config.no-secret-literals.extraPatterns.0"
    assert "not a valid regular expression" in message
