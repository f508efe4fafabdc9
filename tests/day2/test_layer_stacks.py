"""Layer stacks for real: the program run as the infra / platform / serving stack of one spec (components/layering.py,
docs/layers.md), shown on aws-h100 through its three shipped layer stack files.

A serving stack's `pulumi up` cannot touch an infra resource because no infra resource is in its program (so none is
in its state): the tests compare the three layer-stack plans with the one-stack plan resource by resource."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from components.layering import KUBECONFIG_OUTPUT, LAYER_STACK, LAYER_STACKS
from components.loader import read_stack_file
from stacks.cli import app
from stacks.engine import Plan, Registration, SynthError, synth
from stacks.layers import crossings, layer_of_urn
from tests.conftest import shipped_plan, stack_config, stack_file_from

runner = CliRunner()
PLUMBING = ("pulumi:providers:", "pulumi:pulumi:StackReference", "inference-ra:index:InferencePlatform")
_plans: dict[str, Plan] = {}


def layer_plan(layer: str) -> Plan:
    """The shipped layer stack file stacks/Pulumi.aws-h100-<layer>.yaml, synthesized (charts not rendered)."""
    if layer not in _plans:
        _plans[layer] = synth(read_stack_file(f"aws-h100-{layer}"), render_charts=False)
    return _plans[layer]


def _key(r: Registration) -> str:
    """A URN without its stack: the same resource has the same key in the one-stack and a layer-stack plan."""
    return r.urn.split("::", 1)[1]


def _own(plan: Plan) -> dict[str, Registration]:
    return {_key(r): r for r in plan.resources if not r.type.startswith(PLUMBING)}


def test_serving_stack_holds_no_infra_or_platform_resource() -> None:
    serving = layer_plan("serving")
    assert serving.stack == "aws-h100-serving"
    layers = {layer_of_urn(r.urn) for r in serving.resources if not r.type.startswith(PLUMBING)}
    assert layers == {"optimization", "serving", "autoscaling", "triton", "performance"}
    assert not any(r.type.startswith("aws:") for r in serving.resources)
    one = _own(shipped_plan("aws-h100"))
    earlier = {k for k, r in one.items() if LAYER_STACK.get(layer_of_urn(r.urn)) in ("infra", "platform")}
    assert len(earlier) > 100
    assert earlier.isdisjoint(_own(serving))
    # its Kubernetes provider comes from infra's kubeconfig output (a secret), through the StackReference
    (provider,) = [r for r in serving.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["kubeconfig"] == "[secret]"
    refs = sorted(r.inputs["name"] for r in serving.resources if r.type == "pulumi:pulumi:StackReference")
    assert refs == ["organization/inference-ra/aws-h100-infra", "organization/inference-ra/aws-h100-platform"]
    assert any(d.endswith("StackReference::aws-h100-infra") for d in provider.depends_on)


def test_union_of_the_layer_stacks_is_the_one_stack_plan() -> None:
    one = _own(shipped_plan("aws-h100"))
    parts = {layer: _own(layer_plan(layer)) for layer in LAYER_STACKS}
    assert sum(len(p) for p in parts.values()) == len(one)  # each resource in exactly one layer stack
    union = {k: r for p in parts.values() for k, r in p.items()}
    assert union.keys() == one.keys()
    for key, r in union.items():
        whole = one[key]
        assert (r.type, r.inputs, r.protect, r.retain_on_delete) == (
            whole.type,
            whole.inputs,
            whole.protect,
            whole.retain_on_delete,
        ), key
    # dependencies: the one-stack ones inside the same layer stack; the others are the stack order's business
    for layer, part in parts.items():
        for key, r in part.items():
            inside = {d.split("::", 1)[1] for d in one[key].depends_on} & (part.keys() | _plumbing(layer))
            assert {d.split("::", 1)[1] for d in r.depends_on} - _plumbing(layer) == inside - _plumbing(layer), key
    assert len({r.urn for r in layer_plan("platform").resources}) == len(layer_plan("platform").resources)


def _plumbing(layer: str) -> set[str]:
    return {_key(r) for r in layer_plan(layer).resources if r.type.startswith(PLUMBING)}


def test_infra_stack_owns_the_cluster_endpoint_bootstrap_and_exports_the_kubeconfig() -> None:
    infra = layer_plan("infra")
    types = {r.type for r in infra.resources}
    assert {"aws:eks/cluster:Cluster", "aws:iam/openIdConnectProvider:OpenIdConnectProvider"} <= types
    assert "pulumi:pulumi:StackReference" not in types  # infra reads no other stack
    assert infra.outputs[KUBECONFIG_OUTPUT] == "[secret]"
    assert infra.outputs["storage.kv_disk_classes"] == {"h100": "local-nvme"}
    # the AWS default tags name the spec's stack, as in one stack: moving to layers retags nothing
    (aws,) = [r for r in infra.resources if r.type == "pulumi:providers:aws"]
    (whole,) = [r for r in shipped_plan("aws-h100").resources if r.type == "pulumi:providers:aws"]
    assert aws.inputs == whole.inputs
    later = [r.type for layer in ("platform", "serving") for r in layer_plan(layer).resources]
    assert "pulumi:providers:aws" not in later


def test_every_contract_field_is_exported_by_its_producer_and_equals_what_the_consumer_rebuilds() -> None:
    """The StackReference contract (stacks/layers.py crossings): a value field is exported by the producing stack
    as `<layer>.<field>` and equals what the consumer recomputes from the spec; an output field (a cloud value) is
    exported resolved; the provider crosses as the kubeconfig output."""
    from components.outputs import FabricOutputs

    outputs_layer = {"FabricProfile": "fabric"}
    checked = 0
    for c in crossings():
        cls, field = c.field.split(".")
        producer = layer_plan(c.producer)
        if c.field == "ClusterOutputs.k8s_provider":
            assert producer.outputs[KUBECONFIG_OUTPUT] == "[secret]"
        elif c.kind == "value":
            layer = outputs_layer.get(cls) or _layer_of(cls)
            name = f"{layer}.profiles" if cls == "FabricProfile" else f"{layer}.{field}"
            assert name in producer.outputs, (c, sorted(producer.outputs))
            if cls == "FabricProfile":
                assert all(field in p for p in producer.outputs[name].values())
            checked += 1
        elif c.kind == "output":  # a cloud value: exported as the engine resolved it, read through the reference
            assert producer.outputs[f"{_layer_of(cls)}.{field}"].startswith("arn:aws:"), c
            checked += 1
    assert checked >= 10
    assert FabricOutputs.LAYER == "fabric"
    # the consumer's rebuilt values (the layers' from_stack) equal the producer's exports
    rebuilt = _rebuilt_exports()
    for name, value in rebuilt.items():
        stack = LAYER_STACK[name.split(".")[0]]
        assert layer_plan(stack).outputs[name] == value, name


def _layer_of(cls: str) -> str:
    from components import outputs

    return str(getattr(outputs, cls).LAYER)


def _rebuilt_exports() -> dict[str, Any]:
    """What a later stack rebuilds from the spec for the value fields (components/layering.py), as exports."""
    from components.context import PlatformContext
    from components.layering import export_values
    from components.loader import spec_from_stack_file
    from components.observability import layer as observability
    from gpu_nodepools import acceptance, compute
    from networking import fabric
    from storage import layer as storage

    spec = spec_from_stack_file(read_stack_file("aws-h100"))
    ctx = PlatformContext(stack="aws-h100", spec=spec, region="us-east-2")
    out: dict[str, Any] = {}
    for layer, module in (
        ("compute", compute),
        ("storage", storage),
        ("fabric", fabric),
        ("acceptance", acceptance),
        ("observability", observability),
    ):
        out.update(export_values(module.from_stack(ctx, None, None), layer))  # type: ignore[arg-type]
    assert out["fabric.profiles"]["h100"]["nic_resource"] == "vpc.amazonaws.com/efa"
    return out


def test_a_cloud_output_crosses_as_a_stack_reference_output() -> None:
    """`StorageOutputs.model_reader_role_arn` (an IAM role ARN, known once infra is up) is exported by infra and
    read by the serving stack's Triton ServiceAccount through the StackReference: same annotation as one stack."""
    cfg = stack_config("aws-h100")
    cfg["serving"]["triton"] = [{"name": "fraud", "repository": "s3://acme-triton/models", "gpus": 0}]
    base = stack_file_from(cfg, "aws-h100")
    arn = "arn:aws:iam::123456789012:role/infer-prod-model-reader"
    infra = synth(base, layer="infra", render_charts=False)
    assert infra.outputs["storage.model_reader_role_arn"] == arn
    serving = synth(base, layer="serving", render_charts=False)
    (sa,) = [r for r in serving.resources if r.type == "kubernetes:core/v1:ServiceAccount" and r.name == "triton/fraud"]
    assert sa.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == arn
    # infra (deployed from an older spec) does not export it: the run fails before any Kubernetes object is touched
    with pytest.raises(SynthError, match=r"aws-h100-infra exports no storage\.model_reader_role_arn, which this stack"):
        synth(
            base,
            layer="serving",
            render_charts=False,
            earlier_outputs={
                "aws-h100-infra": {k: v for k, v in infra.outputs.items() if k != "storage.model_reader_role_arn"},
                "aws-h100-platform": synth(base, layer="platform", render_charts=False).outputs,
            },
        )


def test_a_serving_change_leaves_the_infra_and_platform_stacks_byte_identical() -> None:
    cfg = stack_config("aws-h100")
    model = cfg["serving"]["models"][0]
    model["decode"]["replicas"] = model["decode"].get("replicas", 1) + 1
    base = stack_file_from(cfg, "aws-h100")
    changed = {layer: synth(base, layer=layer, render_charts=False) for layer in LAYER_STACKS}
    for layer in ("infra", "platform"):
        assert json.dumps(changed[layer].to_json(), sort_keys=True) == json.dumps(
            layer_plan(layer).to_json(), sort_keys=True
        ), layer
    assert changed["serving"].to_json() != layer_plan("serving").to_json()


def test_synth_layer_runs_the_layer_program_and_matches_the_layer_stack_file(tmp_path: Path) -> None:
    by_flag, by_file = tmp_path / "flag", tmp_path / "file"
    assert runner.invoke(app, ["synth", "aws-h100", "--layer", "platform", "--out", str(by_flag)]).exit_code == 0
    assert runner.invoke(app, ["synth", "aws-h100-platform", "--out", str(by_file)]).exit_code == 0
    assert (by_flag / "plan.json").read_bytes() == (by_file / "plan.json").read_bytes()
    doc = json.loads((by_flag / "plan.json").read_text())
    assert doc["stack"] == "aws-h100-platform"
    assert doc["outputs"]["observability.prometheus_url"].startswith("http://")
    assert "pulumi:pulumi:StackReference" in {r["type"] for r in doc["resources"]}


# ---- a layer stack file is checked: exit 2 with the key path, nothing written ----------------------------------
def _layer_dir(tmp_path: Path, config: dict[str, Any], name: str = "aws-h100-serving") -> Path:
    shutil.copy(read_stack_file("aws-h100").path, tmp_path / "Pulumi.aws-h100.yaml")
    (tmp_path / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path / f"Pulumi.{name}.yaml"


@pytest.mark.parametrize(
    ("config", "path", "message"),
    [
        ({"inference-ra:layer": "models", "inference-ra:specStack": "aws-h100"}, "inference-ra:layer", "one of"),
        ({"inference-ra:specStack": "aws-h100"}, "inference-ra:layer", "is missing"),
        ({"inference-ra:layer": "serving"}, "inference-ra:specStack", "is missing"),
        ({"inference-ra:layer": "serving", "inference-ra:specStack": "aws-h101"}, "inference-ra:specStack", "unknown"),
        ({"inference-ra:layer": "serving", "inference-ra:specStack": "a/b"}, "inference-ra:specStack", "stack name"),
        (
            {"inference-ra:layer": "serving", "inference-ra:specStack": "aws-h100", "inference-ra:observability": {}},
            "inference-ra:observability",
            "spec key in a layer stack file",
        ),
    ],
)
def test_rejects_a_bad_layer_stack_file(tmp_path: Path, config: dict[str, Any], path: str, message: str) -> None:
    stack = _layer_dir(tmp_path, config)
    out = tmp_path / "out"
    result = runner.invoke(app, ["synth", str(stack), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert path in result.output and message in result.output, result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_rejects_a_spec_stack_that_is_itself_a_layer_stack(tmp_path: Path) -> None:
    _layer_dir(tmp_path, {"inference-ra:layer": "infra", "inference-ra:specStack": "aws-h100"}, "aws-h100-infra")
    stack = _layer_dir(tmp_path, {"inference-ra:layer": "serving", "inference-ra:specStack": "aws-h100-infra"})
    result = runner.invoke(app, ["synth", str(stack), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "inference-ra:specStack" in result.output and "names a layer stack" in result.output


def test_pulumi_up_path_reads_the_layer_and_the_base_spec_from_config() -> None:
    """Under `pulumi up` the layer stack's config bag has only its two keys: the spec comes from the base file."""
    from components.loader import spec_and_selection_from_pulumi_config, spec_from_stack_file
    from stacks.engine import run_offline

    got: list[Any] = []
    run_offline(
        lambda: got.append(spec_and_selection_from_pulumi_config()),
        stack="aws-h100-serving",
        config={"inference-ra:layer": "serving", "inference-ra:specStack": "aws-h100"},
    )
    spec, selection, region = got[0]
    assert (selection.layer, selection.spec_stack, selection.stack) == ("serving", "aws-h100", "aws-h100-serving")
    assert region == "us-east-2"
    assert spec == spec_from_stack_file(read_stack_file("aws-h100"))


def test_pulumi_up_reads_the_base_file_from_the_projects_stack_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `pulumi up` the base stack's file is read where Pulumi reads the layer stack's own file
    (`stackConfigDir` of the project root's Pulumi.yaml), not from the package's stacks/."""
    import pulumi

    from components.loader import spec_and_selection_from_pulumi_config
    from stacks.engine import run_offline

    (tmp_path / "Pulumi.yaml").write_text("name: inference-ra\nruntime: python\nstackConfigDir: config\n")
    (tmp_path / "config").mkdir()
    doc = yaml.safe_load(read_stack_file("aws-h100").path.read_text())
    doc["config"]["inference-ra:cluster"]["name"] = "from-config-dir"
    (tmp_path / "config" / "Pulumi.aws-h100.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.setattr(pulumi, "get_root_directory", lambda: str(tmp_path))
    got: list[Any] = []
    run_offline(
        lambda: got.append(spec_and_selection_from_pulumi_config()),
        stack="aws-h100-infra",
        config={"inference-ra:layer": "infra", "inference-ra:specStack": "aws-h100"},
    )
    assert got[0][0].cluster.name == "from-config-dir"


def _outputs_of_earlier_stacks() -> dict[str, dict[str, Any]]:
    return {f"aws-h100-{layer}": dict(layer_plan(layer).outputs) for layer in ("infra", "platform")}


def test_rejects_a_layer_stack_whose_earlier_stack_was_deployed_from_another_spec() -> None:
    """A value the serving stack recomputes from the spec differs from what infra exports (infra was deployed from
    an older spec): the program fails before any Kubernetes object (they all wait for the checked provider)."""
    from stacks.engine import SynthError

    earlier = _outputs_of_earlier_stacks()
    earlier["aws-h100-infra"]["storage.kv_disk_classes"] = {"h100": "old-class"}
    with pytest.raises(SynthError) as exc:
        synth(read_stack_file("aws-h100"), layer="serving", render_charts=False, earlier_outputs=earlier)
    text = str(exc.value)
    assert 'aws-h100-infra exports storage.kv_disk_classes.h100 = "old-class"; this spec gives "local-nvme"' in text
    assert "run `pulumi up` on those stacks first" in text


def test_rejects_a_layer_stack_whose_earlier_stack_exports_nothing() -> None:
    from stacks.engine import SynthError

    earlier = _outputs_of_earlier_stacks()
    earlier["aws-h100-platform"] = {}
    with pytest.raises(SynthError, match=r"aws-h100-platform exports fabric.profiles = \(not exported\)"):
        synth(read_stack_file("aws-h100"), layer="serving", render_charts=False, earlier_outputs=earlier)


def test_earlier_outputs_as_exported_pass_the_check() -> None:
    plan = synth(
        read_stack_file("aws-h100"), layer="serving", render_charts=False, earlier_outputs=_outputs_of_earlier_stacks()
    )
    assert json.dumps(plan.to_json(), sort_keys=True) == json.dumps(layer_plan("serving").to_json(), sort_keys=True)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_outputs_as_the_real_engine_returns_them_pass_the_check() -> None:
    """The real engine drops null entries of a stack output's maps (found by the e2e run: dev's tcp fabric profile
    has nic_resource None) and carries numbers as doubles: neither is drift."""
    base = read_stack_file("dev")
    earlier: dict[str, Any] = {}
    for layer in ("infra", "platform"):
        done = synth(base, layer=layer, render_charts=False, earlier_outputs=earlier)
        earlier[done.stack] = done.outputs
    assert earlier["dev-platform"]["fabric.profiles"]["h100"]["nic_resource"] is None
    engine_form = {
        stack: {k: _without_nulls(json.loads(json.dumps(v).replace(": 1,", ": 1.0,"))) for k, v in outs.items()}
        for stack, outs in earlier.items()
    }
    plan = synth(base, layer="serving", render_charts=False, earlier_outputs=engine_form)
    assert plan.stack == "dev-serving"
