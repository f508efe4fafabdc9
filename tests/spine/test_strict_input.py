"""Every bad input is a clean exit 2 with its key path (issue 18, items 3 and 7-10, and the friendlier messages).

Each case mutates a shipped stack in one place and names the key path the message must carry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from components.loader import SpecError, read_stack_file, spec_from_mapping
from stacks.cli import app
from tests.conftest import stack_config

runner = CliRunner()
Mutation = Callable[[dict[str, Any]], None]


def problems_of(cfg: dict[str, Any], region: str | None = "us-east-2") -> list[str]:
    with pytest.raises(SpecError) as info:
        spec_from_mapping(cfg, region=region)
    return [p.render() for p in info.value.problems]


def _set(path: str, value: Any) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = cfg
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value

    return mutate


# (stack, mutation, key path the message must name) — one failing case per rule
CASES: dict[str, tuple[str, Mutation, str]] = {
    # item 3: names that become Kubernetes names or paths
    "namespace-with-slash": ("dev", _set("serving.models.0.namespace", "../../etc"), "serving.models[0].namespace"),
    "namespace-uppercase": ("dev", _set("serving.models.0.namespace", "Team"), "serving.models[0].namespace"),
    "model-name-trailing-dash": ("dev", _set("serving.models.0.name", "llama-"), "serving.models[0].name"),
    "pool-name-trailing-dash": ("dev", _set("gpuPools.0.name", "h100-"), "gpuPools[0].name"),
    "queue-namespace-path": (
        "ncp-ib",
        _set("scheduling.queues.0.namespace", "a/b"),
        "scheduling.queues[0].namespace",
    ),
    "label-key-bad": ("dev", _set("gpuPools.0.labels", {"bad key": "x"}), "gpuPools[0].labels"),
    "label-value-bad": ("dev", _set("gpuPools.0.labels", {"team": "a/b"}), "gpuPools[0].labels.team"),
    "selector-value-too-long": (
        "dev",
        _set("gpuPools.0.nodeSelector", {"a": "x" * 64}),
        "gpuPools[0].nodeSelector.a",
    ),
    "taint-key-bad": ("dev", _set("gpuPools.0.taints", [{"key": "-x"}]), "gpuPools[0].taints[0].key"),
    "storage-class-bad": (
        "dev",
        _set("storage.modelCache.storageClass", "Fast_SSD"),
        "storage.modelCache.storageClass",
    ),
    "local-storage-class-bad": ("dev", _set("storage.localNvme.storageClass", "a/b"), "storage.localNvme.storageClass"),
    "mount-path-relative": ("dev", _set("gpuPools.0.localNvme.mountPath", "../mnt"), "gpuPools[0].localNvme.mountPath"),
    "triton-namespace-bad": ("ncp-ib", _set("serving.triton.0.namespace", "Team B"), "serving.triton[0].namespace"),
    "model-in-kube-system": ("dev", _set("serving.models.0.namespace", "kube-system"), "serving.models[0].namespace"),
    "model-in-gpu-operator": (
        "dev",
        _set("serving.models.0.namespace", "gpu-operator"),
        "serving.models[0].namespace",
    ),
    "model-in-network-operator": (
        "dev",
        _set("serving.models.0.namespace", "network-operator"),
        "serving.models[0].namespace",
    ),
    "model-in-dra-namespace": (
        "dev",
        _set("serving.models.0.namespace", "nvidia-dra-driver"),
        "serving.models[0].namespace",
    ),
    "triton-in-kube-system": (
        "ncp-ib",
        _set("serving.triton.0.namespace", "kube-system"),
        "serving.triton[0].namespace",
    ),
    # item 7: non-finite and absurd numbers
    "inf-capacity": ("aws-h100", _set("storage.parallelFs.capacityTiB", math.inf), "storage.parallelFs.capacityTiB"),
    "nan-slo": ("dev", _set("serving.models.0.slo.ttftMs", math.nan), "serving.models[0].slo.ttftMs"),
    "inf-price": ("dev", _set("policy.prices.nodeHourUsd", {"dgx-h100": math.inf}), "policy.prices.nodeHourUsd"),
    "inf-in-policy-config": ("dev", _set("policy.config", {"cost-cap": {"x": math.inf}}), "policy.config.cost-cap.x"),
    "int-beyond-engine": ("dev", _set("storage.modelCache.sizeGi", 2**60), "storage.modelCache.sizeGi"),
    "nodes-beyond-kubernetes": ("dev", _set("gpuPools.0.nodes.max", 10**6), "gpuPools[0].nodes.max"),
    "replicas-beyond-kubernetes": ("dev", _set("serving.models.0.worker.replicas", 10**7), "serving.models[0].worker"),
    "replicas-beyond-pool": ("dev", _set("serving.models.0.worker.replicas", 9), "serving.models[0].worker.replicas"),
    "zero-throughput-tier": (
        "aws-h100",
        _set("storage.parallelFs.throughputMBpsPerTiB", 0),
        "storage.parallelFs.throughputMBpsPerTiB",
    ),
    # item 8: duplicates in set-like lists
    "duplicate-az": (
        "aws-h100",
        _set("network.availabilityZones", ["us-east-2a", "us-east-2a"]),
        "network.availabilityZones",
    ),
    "duplicate-prefetch": (
        "dev",
        _set("storage.modelCache.prefetch", ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct"]),
        "storage.modelCache.prefetch",
    ),
    "duplicate-devices": ("ncp-ib", _set("network.fabric.devices", ["mlx5_0"] * 8), "network.fabric.devices"),
    "duplicate-interfaces": ("ncp-ib", _set("network.fabric.interfaces", ["ibp24s0"] * 8), "network.fabric.interfaces"),
    "duplicate-backends": (
        "ncp-ib",
        _set("serving.triton.0.backends", ["onnxruntime", "onnxruntime"]),
        "serving.triton[0].backends",
    ),
    "duplicate-concurrency": (
        "aws-h100",
        _set("serving.models.0.benchmark.concurrency", [8, 8]),
        "serving.models[0].benchmark.concurrency",
    ),
    # item 9: format-checked free strings
    "vpc-cidr-garbage": ("aws-h100", _set("network.vpcCidr", "10.0.0.0/33"), "network.vpcCidr"),
    "vpc-cidr-host-bits": ("aws-h100", _set("network.vpcCidr", "10.0.0.1/16"), "network.vpcCidr"),
    "ipam-cidr-garbage": ("ncp-ib", _set("network.fabric.ipam.cidr", "not-a-cidr"), "network.fabric.ipam.cidr"),
    "egress-cidr-garbage": (
        "ncp-ib",
        _set("scheduling.queues.0.egressCidrs", ["0.0.0.0"]),
        "scheduling.queues[0].egressCidrs[0]",
    ),
    "az-of-another-region": (
        "aws-h100",
        _set("network.availabilityZones", ["eu-west-1a"]),
        "network.availabilityZones[0]",
    ),
    "operator-version-not-semver": ("dev", _set("gpuOperator.version", "latest"), "gpuOperator.version"),
    "dynamo-version-not-semver": ("dev", _set("serving.dynamo.version", "1.4"), "serving.dynamo.version"),
    # item 13: a policy rule's regex config
    "policy-regex": (
        "dev",
        _set("policy.config", {"no-secret-literals": {"extraPatterns": ["(unclosed"]}}),
        "policy.config.no-secret-literals.extraPatterns",
    ),
    # item 10: parallelism the engines cannot shard, missing roles, benchmark concurrency
    "tp-not-dividing-heads": (
        "ncp-ib",
        _set("serving.models.1.worker.tensorParallel", 3),
        "serving.models[1].worker.tensorParallel",
    ),
    "zero-decode-replicas": (
        "aws-h100",
        _set("serving.models.0.decode.replicas", 0),
        "serving.models[0].decode.replicas",
    ),
    "zero-concurrency": (
        "aws-h100",
        _set("serving.models.0.benchmark.concurrency", [0, 8]),
        "serving.models[0].benchmark.concurrency[0]",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rejects_bad_input_with_its_key_path(case: str) -> None:
    stack, mutate, path = CASES[case]
    cfg = stack_config(stack)
    mutate(cfg)
    rendered = problems_of(cfg)
    assert any(r.startswith(f"inference-ra:{path}") for r in rendered), rendered


def test_rejects_aws_region_that_does_not_exist() -> None:
    rendered = problems_of(stack_config("aws-h100"), region="us-east-9")
    assert rendered == ["inference-ra:(aws:region): is not an AWS region (got 'us-east-9'; did you mean `us-east-2`?)"]


def test_rejects_kv_heads_only_when_neither_split_nor_replicated() -> None:
    """tp 16 over 8 KV heads replicates each twice (fine); tp 3 over 8 neither splits nor replicates."""
    cfg = stack_config("aws-h100")
    cfg["serving"]["models"][0]["architecture"] = {
        "paramsB": 70.6, "layers": 80, "hiddenSize": 8192, "attentionHeads": 48, "kvHeads": 8, "headDim": 128,
        "maxContext": 131072,
    }  # fmt: skip
    cfg["serving"]["models"][0]["decode"]["tensorParallel"] = 6
    assert any("8 KV heads" in r for r in problems_of(cfg))


def test_a_crashing_rule_is_an_internal_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from components import rules

    def broken(_spec: object) -> list[object]:
        raise ZeroDivisionError("division by zero")

    spec = read_spec("dev")
    rules.load_rule_modules()
    monkeypatch.setitem(rules.RULES, "zz-broken", broken)
    problems = rules.check_spec(spec)
    assert [p.internal for p in problems] == [True]
    assert "spec rule 'zz-broken'" in problems[0].render() and "ZeroDivisionError" in problems[0].render()


def read_spec(name: str) -> Any:
    from components.loader import spec_from_stack_file

    return spec_from_stack_file(read_stack_file(name))


def test_cli_exits_1_naming_the_rule_when_a_rule_crashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components import rules

    def broken(_spec: object) -> list[object]:
        raise ZeroDivisionError("division by zero")

    rules.load_rule_modules()
    monkeypatch.setitem(rules.RULES, "zz-broken", broken)
    result = runner.invoke(app, ["synth", "dev", "--out", str(tmp_path / "dev")])
    assert result.exit_code == 1
    assert "spec rule 'zz-broken'" in " ".join(result.output.split()) and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "dev").exists()


# ------------------------------------------------------------------------------------- friendlier stack files
def _stack_file(tmp_path: Path, text: str, name: str = "x") -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return path


def _messages(path: Path) -> str:
    result = runner.invoke(app, ["synth", str(path), "--out", str(path.parent / "out")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_rejects_empty_file_saying_it_is_empty(tmp_path: Path) -> None:
    assert "is empty" in _messages(_stack_file(tmp_path, ""))


def test_rejects_keys_outside_config(tmp_path: Path) -> None:
    text = "inference-ra:cluster: {provider: existing, name: a-b}\n"
    assert "inference-ra:inference-ra:cluster: is outside `config:`" in _messages(_stack_file(tmp_path, text))


@pytest.mark.parametrize(("value", "found"), [("[]", "a list"), ("", "nothing (null)"), ("3", "a number")])
def test_rejects_config_that_is_not_a_mapping_saying_what_was_found(tmp_path: Path, value: str, found: str) -> None:
    assert f"got '{found}'" in _messages(_stack_file(tmp_path, f"config: {value}\n"))


def test_unquoted_kubernetes_version_gets_a_hint(tmp_path: Path) -> None:
    path = Path("stacks/Pulumi.dev.yaml")
    text = path.read_text().replace('kubernetesVersion: "1.33"', "kubernetesVersion: 1.30")
    msg = _messages(_stack_file(tmp_path, text))
    assert "inference-ra:cluster.kubernetesVersion" in msg and 'write it in quotes (e.g. "1.30")' in msg


def test_rejects_duplicate_yaml_keys(tmp_path: Path) -> None:
    path = Path("stacks/Pulumi.dev.yaml")
    text = path.read_text().replace("    name: infer-dev\n", "    name: infer-dev\n    name: infer-dev2\n")
    msg = _messages(_stack_file(tmp_path, text))
    assert "duplicate key 'name'" in msg and "line" in msg


def test_did_you_mean_for_catalog_names(tmp_path: Path) -> None:
    path = Path("stacks/Pulumi.dev.yaml")
    text = path.read_text().replace("gpu: h100-sxm-80gb", "gpu: h100-sxm-80g")
    assert "did you mean `h100-sxm-80gb`?" in _messages(_stack_file(tmp_path, text))


def test_did_you_mean_for_unknown_stacks() -> None:
    result = runner.invoke(app, ["synth", "aws-h10"])
    assert result.exit_code == 2 and "did you mean `aws-h100`?" in " ".join(result.output.split())


def test_rejects_namespace_typo_of_the_project(tmp_path: Path) -> None:
    path = Path("stacks/Pulumi.dev.yaml")
    text = path.read_text().replace("  inference-ra:observability:", "  inference_ra:observability:")
    assert "did you mean `inference-ra:observability`?" in _messages(_stack_file(tmp_path, text))


def test_rejects_plain_text_credentials(tmp_path: Path) -> None:
    text = Path("stacks/Pulumi.dev.yaml").read_text() + "  inference-ra:hfToken: hf_plaintext\n"
    assert "inference-ra:hfToken: is a credential and must be a Pulumi secret" in _messages(_stack_file(tmp_path, text))


def test_bare_config_keys_belong_to_the_project(tmp_path: Path) -> None:
    """Pulumi namespaces a key without a namespace under the project (stackConfigNamespacedWithProject)."""
    text = Path("stacks/Pulumi.dev.yaml").read_text().replace("  inference-ra:observability:", "  observability:")
    sf = read_stack_file(str(_stack_file(tmp_path, text)))
    assert "observability" in sf.project_config()


def test_rejects_stack_names_that_would_escape_out(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", str(tmp_path / "Pulumi.a b.yaml")])
    assert result.exit_code == 2 and "not a valid stack name" in result.output
