"""The offline engine: determinism, URNs, explicit names, secrets never rendered."""

from __future__ import annotations

import json
from pathlib import Path

from components.loader import read_stack_file
from stacks.engine import _OFFLINE_SECRET, SECRET, decode, synth
from stacks.output import write_plan
from stacks.report import render_report
from tests.conftest import SHIPPED_STACKS, shipped_plan


def _render(name: str, out: Path) -> dict[str, bytes]:
    plan = synth(read_stack_file(name))
    write_plan(plan, out, render_report(plan))
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_synth_twice_is_byte_identical(tmp_path: Path) -> None:
    for name in SHIPPED_STACKS:
        first = _render(name, tmp_path / "a" / name)
        second = _render(name, tmp_path / "b" / name)
        assert first == second, name


def test_plan_json_shape() -> None:
    doc = shipped_plan("dev").to_json()
    assert set(doc) == {"project", "stack", "resources"}
    assert doc["project"] == "inference-ra" and doc["stack"] == "dev"
    r = doc["resources"][0]
    assert set(r) == {"urn", "type", "name", "parent", "provider", "dependsOn", "protect", "retainOnDelete", "inputs"}
    urns = [r["urn"] for r in doc["resources"]]
    assert urns == sorted(urns) and len(set(urns)) == len(urns)


def test_urns_carry_the_parent_type_chain() -> None:
    ns = next(r for r in shipped_plan("dev").resources if r.type == "kubernetes:core/v1:Namespace")
    assert ns.urn.startswith(
        "urn:pulumi:dev::inference-ra::inference-ra:index:InferencePlatform$inference-ra:namespaces:Namespaces"
        "$kubernetes:core/v1:Namespace::"
    )
    assert ns.parent.endswith("inference-ra:namespaces:Namespaces::inference-ra-namespaces")
    assert ns.provider.endswith("pulumi:providers:kubernetes::k8s")


def test_every_kubernetes_object_is_named_explicitly() -> None:
    for name in SHIPPED_STACKS:
        for r in shipped_plan(name).resources:
            if r.type.startswith("kubernetes:") and "kind" in r.inputs:
                assert r.inputs["metadata"]["name"], r.urn


def test_secrets_never_rendered() -> None:
    for name in SHIPPED_STACKS:
        text = json.dumps(shipped_plan(name).to_json())
        assert _OFFLINE_SECRET not in text, name
    provider = next(r for r in shipped_plan("dev").resources if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == SECRET


def test_decode_redacts_secrets_and_restores_ints() -> None:
    sig = "4dabf18193072939515e22adb298388d"
    value = {"a": {sig: "1b47061264138c4ac30d75fd1eb44270", "value": "hf_live"}, "n": 3.0, "f": 0.5, "l": [1.0]}
    assert decode(value) == {"a": SECRET, "f": 0.5, "l": [1], "n": 3}


def test_engine_can_run_repeatedly_in_one_process() -> None:
    a = synth(read_stack_file("dev"))
    b = synth(read_stack_file("aws-h100"))
    c = synth(read_stack_file("dev"))
    assert [r.urn for r in a.resources] == [r.urn for r in c.resources]
    assert {r.urn.split("::")[0] for r in b.resources} == {"urn:pulumi:aws-h100"}


def test_program_reads_the_same_spec_from_pulumi_config() -> None:
    """`pulumi up` path: run_program() reads the spec through pulumi.Config; synth hands over the spec it already
    validated. Both must register the same resources with the same inputs."""
    from stacks.engine import _config_for, run_offline
    from stacks.program import run_program

    stack_file = read_stack_file("aws-h100")
    config, secret_keys = _config_for(stack_file)
    from_config = run_offline(run_program, stack="aws-h100", config=config, secret_keys=secret_keys, region="us-east-2")
    assert [r.to_json() for r in from_config] == [r.to_json() for r in shipped_plan("aws-h100").resources]


def test_reordering_the_spec_tags_changes_no_provider_input() -> None:
    """The AWS provider's default tags are a JSON string in the provider's inputs (as the engine sends provider
    config): their key order must not follow the stack file's, or reordering `cluster.tags` reads as a provider
    change in `diff` and `pulumi preview` (found by the layer-stack work)."""
    from tests.conftest import stack_config, stack_file_from

    cfg = stack_config("aws-h100")
    tags = cfg["cluster"]["tags"]
    assert len(tags) >= 2
    cfg["cluster"]["tags"] = dict(reversed(list(tags.items())))

    def provider(plan_cfg: dict) -> dict:  # type: ignore[type-arg]
        plan = synth(stack_file_from(plan_cfg, "aws-h100"), render_charts=False)
        (aws,) = [r for r in plan.resources if r.type == "pulumi:providers:aws"]
        return aws.inputs

    reordered = provider(cfg)
    assert reordered == provider(stack_config("aws-h100"))
    assert list(json.loads(reordered["defaultTags"])["tags"]) == sorted(json.loads(reordered["defaultTags"])["tags"])
