"""The CrossGuard adapter with the real pulumi_policy classes (no server): same rules, same results.

policies/__main__.py is run with PolicyPack replaced by a recorder, so the test proves the pack module builds the
pack from every rule without starting the analyzer server (the real constructor serves forever).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import PolicyCustomTimeouts
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policies.crossguard import build_policies, plain
from policies.registry import load_rules, resolve
from tests.policies.plans import aws, deployment

ROOT = Path(__file__).resolve().parents[2]


def _opts(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _policy(name: str, settings=None):
    return next(p for p in build_policies(settings) if p.name == name)


def _run_resource(name: str, entry: dict, protect: bool = False, config: dict | None = None) -> list[str]:
    policy = _policy(name)
    assert isinstance(policy, ResourceValidationPolicy)
    reports: list[str] = []
    args = ResourceValidationArgs(
        entry["type"],
        unknown_checking_proxy(entry["inputs"]),
        entry["urn"],
        entry["name"],
        _opts(protect),
        None,
        config,
    )
    policy.validate(args, lambda msg, urn=None: reports.append(msg))
    return reports


def test_one_policy_per_rule_with_levels_and_schemas() -> None:
    policies = build_policies(resolve({"pdb-per-graph": "mandatory"}))
    assert {p.name for p in policies} == set(load_rules())
    by_name = {p.name: p for p in policies}
    assert by_name["pdb-per-graph"].enforcement_level == EnforcementLevel.MANDATORY
    assert by_name["dcgm-exporter-enabled"].enforcement_level == EnforcementLevel.ADVISORY
    assert isinstance(by_name["cost-cap"], StackValidationPolicy)
    assert "allowedNamespaces" in by_name["no-privileged-pods"].config_schema.properties


def test_resource_policy_reports_like_check() -> None:
    lt = aws("aws:ec2/launchTemplate:LaunchTemplate", "gpu", {"metadataOptions": {"httpTokens": "optional"}})
    reports = _run_resource("imdsv2-required", lt)
    assert len(reports) == 1 and reports[0].startswith("metadataOptions.httpTokens is 'optional'")
    assert "Fix: Set metadata_options" in reports[0]
    lt["inputs"]["metadataOptions"]["httpTokens"] = "required"
    assert _run_resource("imdsv2-required", lt) == []


def test_protect_comes_from_args_opts() -> None:
    fs = aws("aws:fsx/lustreFileSystem:LustreFileSystem", "fs", {"deploymentType": "PERSISTENT_2"})
    assert len(_run_resource("stateful-protected", fs, protect=False)) == 1
    assert _run_resource("stateful-protected", fs, protect=True) == []


def test_policy_pack_config_overrides_stack_config() -> None:
    pod = {"hostPID": True, "containers": deployment()["inputs"]["spec"]["template"]["spec"]["containers"]}
    entry = deployment("x", "nvme", pod)
    assert len(_run_resource("no-privileged-pods", entry)) == 1
    assert _run_resource("no-privileged-pods", entry, config={"allowedNamespaces": ["nvme"]}) == []


def test_unknown_preview_values_do_not_abort_rules() -> None:
    props = {"metadataOptions": {"httpTokens": UNKNOWN_STRING_VALUE}}
    assert plain(unknown_checking_proxy(props)) == {"metadataOptions": {"httpTokens": "[unknown]"}}
    lt = aws("aws:ec2/launchTemplate:LaunchTemplate", "gpu", props)
    assert _run_resource("imdsv2-required", lt) == []


def test_stack_policy_sees_dependencies() -> None:
    lt = aws("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"instanceType": "p5.48xlarge"})
    ng = aws("aws:eks/nodeGroup:NodeGroup", "h100", {"scalingConfig": {"maxSize": 16}})
    lt_res = PolicyResource(
        lt["type"], unknown_checking_proxy(lt["inputs"]), lt["urn"], "lt", _opts(), None, None, [], {}
    )
    ng_res = PolicyResource(
        ng["type"], unknown_checking_proxy(ng["inputs"]), ng["urn"], "h100", _opts(), None, None, [lt_res], {}
    )
    policy = _policy("cost-cap", resolve(config={"cost-cap": {"maxHourlyCostUsd": 500}}))
    reports: list[tuple[str, Any]] = []
    policy.validate(StackValidationArgs([lt_res, ng_res]), lambda msg, urn=None: reports.append((msg, urn)))
    assert len(reports) == 1 and "$880.64/hour exceeds the cap $500.00/hour" in reports[0][0]


def test_pack_module_builds_the_pack_without_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}

    class Recorder:
        def __init__(self, **kwargs: Any) -> None:
            built.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", Recorder)
    monkeypatch.setattr(sys, "path", list(sys.path))
    runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="__main__")
    assert built["name"] == "inference-ra"
    assert {p.name for p in built["policies"]} == set(load_rules())
    assert str(ROOT / "policies") not in sys.path  # policies/storage.py must not shadow the storage package


def test_schemas_carry_no_defaults_the_engine_would_lay_over_the_stack_settings() -> None:
    """The engine fills every schema default into the config it hands a policy (pkg/resource/analyzer/config.go
    createConfigWithDefaults) and the pack lays that config over the stack's settings: with `default: []` in the
    schema, `pulumi preview --policy-pack` refused every chart image of `dev` although its policy.allowedRegistries
    admits them (found by `make e2e`). Defaults stay in the settings, the schema keeps types and descriptions."""
    policies = build_policies(resolve())
    for p in policies:
        for key, prop in (p.config_schema.properties if p.config_schema else {}).items():
            assert "default" not in prop, (p.name, key)
    registries = _policy("images-allowed-registries", resolve()).config_schema.properties["allowedRegistries"]
    assert registries["type"] == "array"
