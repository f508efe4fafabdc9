"""Loader: every problem listed with its key path and the `inference-ra:<path>: ... (got ...; fix)` format."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.loader import SpecError, read_stack_file, spec_from_mapping, spec_from_stack_file
from tests.conftest import stack_config, write_stack


def errors_of(config: dict, region: str | None = "us-east-2") -> list[str]:
    with pytest.raises(SpecError) as info:
        spec_from_mapping(config, region=region)
    return [p.render() for p in info.value.problems]


def test_unknown_key_names_its_path() -> None:
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0]["decode"]["tensorParalel"] = 4
    assert errors_of(cfg) == [
        "inference-ra:serving.models[0].decode.tensorParalel: unknown key (got 4; did you mean `tensorParallel`?; "
        "otherwise remove it (`inference-ra schema` lists the keys))"
    ]


def test_wrong_type_names_value() -> None:
    cfg = stack_config("dev")
    cfg["gpuPools"][0]["nodes"]["max"] = "many"
    (msg,) = errors_of(cfg)
    assert msg.startswith("inference-ra:gpuPools[0].nodes.max: Input should be a valid integer")
    assert "got 'many'" in msg


def test_all_problems_reported_at_once() -> None:
    cfg = stack_config("dev")
    cfg["gpuPools"][0]["nodes"]["max"] = "many"
    cfg["cluster"]["provider"] = "gcp"
    cfg["storage"]["modelCache"]["sizeGi"] = -1
    paths = [m.split(":", 2)[1] for m in errors_of(cfg)]
    assert paths == ["cluster.provider", "gpuPools[0].nodes.max", "storage.modelCache.sizeGi"]


def test_literal_error_lists_allowed_values() -> None:
    cfg = stack_config("dev")
    cfg["cluster"]["provider"] = "gcp"
    (msg,) = errors_of(cfg)
    assert "'aws' or 'existing'" in msg and "got 'gcp'" in msg


def test_missing_required_key() -> None:
    cfg = stack_config("dev")
    del cfg["cluster"]["name"]
    assert errors_of(cfg) == ["inference-ra:cluster.name: required key is missing (add it)"]


def test_unknown_top_level_key() -> None:
    cfg = stack_config("dev")
    cfg["servng"] = {}
    (msg,) = errors_of(cfg)
    assert msg.startswith("inference-ra:servng: unknown top-level key (use one of cluster, network, gpuPools")


def test_explicit_architecture_errors_have_clean_paths() -> None:
    cfg = stack_config("dev")
    cfg["serving"]["models"][0]["architecture"] = {"paramsB": 8, "layers": 32}
    msgs = errors_of(cfg)
    assert "inference-ra:serving.models[0].architecture.hiddenSize: required key is missing (add it)" in msgs
    assert not any("<object>" in m or "str" in m.split(":")[1] for m in msgs)


def test_explicit_architecture_is_accepted() -> None:
    cfg = stack_config("dev")
    cfg["serving"]["models"][0]["architecture"] = {
        "paramsB": 8.03,
        "layers": 32,
        "hiddenSize": 4096,
        "attentionHeads": 32,
        "kvHeads": 8,
        "headDim": 128,
        "maxContext": 131072,
    }
    spec = spec_from_mapping(cfg)
    arch = spec.architecture(spec.serving.models[0])
    assert arch is not None and arch.kv_bytes_per_token("bf16") == 131072


def test_aws_needs_region() -> None:
    assert errors_of(stack_config("aws-h100"), region=None) == [
        "inference-ra:(aws:region): an aws cluster needs `aws:region` in the stack config (set it)"
    ]


def test_unknown_stack_lists_known(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        read_stack_file("nope")
    (p,) = info.value.problems
    assert "unknown stack" in p.message
    # the shipped layer stacks of aws-h100 (docs/layers.md) are stacks too
    assert "aws-h100, aws-h100-infra, aws-h100-platform, aws-h100-serving, dev, ncp-ib" in p.fix


def test_malformed_yaml_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text("config:\n  inference-ra:cluster: {provider: aws\n  x: [\n")
    with pytest.raises(SpecError) as info:
        read_stack_file(str(path))
    (p,) = info.value.problems
    assert p.path == "(yaml)" and "malformed YAML" in p.message and "line" in p.message


def test_non_mapping_yaml(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        read_stack_file(str(path))


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.bin.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SpecError, match="cannot read"):
        read_stack_file(str(path))


def test_secure_values_are_not_spec(tmp_path: Path) -> None:
    cfg = stack_config("dev")
    path = write_stack(tmp_path, cfg)
    text = path.read_text() + "  inference-ra:hfToken:\n    secure: v1:AAAABBBB\n"
    path.write_text(text)
    sf = read_stack_file(str(path))
    assert sf.secrets == frozenset({"inference-ra:hfToken"})
    assert "hfToken" not in sf.project_config()
    assert spec_from_stack_file(sf).cluster.name == "infer-dev"
