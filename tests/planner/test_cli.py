"""`inference-ra size`: the JSON contract and exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from stacks.cli import app

EXAMPLE = [
    "size", "--model", "llama-3.3-70b", "--gpu", "h100-sxm-80gb", "--isl", "4096", "--osl", "512",
    "--ttft-ms", "500", "--itl-ms", "30", "--rps", "4", "--weights-dtype", "fp8", "--kv-dtype", "bf16",
]  # fmt: skip
KEYS = {
    "weightsBytes", "kvBytesPerToken", "tensorParallel", "mode", "replicas", "gpus", "nodes", "ttftMs", "itlMs",
    "tokensPerSecondPerGpu", "costPerHour", "costPerMillionTokens",
}  # fmt: skip


def run(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, args)


def test_size_json_has_the_contract_keys() -> None:
    r = run([*EXAMPLE, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert set(doc) >= KEYS
    assert doc["weightsBytes"] == 70_600_000_000
    assert doc["kvBytesPerToken"] == 327_680
    assert doc["mode"] in ("aggregated", "disaggregated")
    assert doc["gpus"] >= doc["tensorParallel"] and doc["nodes"] >= 1
    assert doc["ttftMs"] <= 500 and doc["itlMs"] <= 30
    assert doc["costPerHour"] > 0 and doc["costPerMillionTokens"] > 0


def test_size_table_output() -> None:
    r = run(EXAMPLE)
    assert r.exit_code == 0, r.output
    assert "binding constraint" in r.stdout


def test_size_with_concurrency() -> None:
    args = [a for a in EXAMPLE if a not in ("--rps", "4")] + ["--concurrency", "32", "--json"]
    r = run(args)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["requestsPerSecond"] > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--model": "llama-9000"}, "--model 'llama-9000' is not known"),
        ({"--gpu": "h100"}, "--gpu 'h100' is not known"),
        ({"--weights-dtype": "int3"}, "--weights-dtype 'int3' is not known"),
        ({"--kv-dtype": "nvfp4"}, "--kv-dtype 'nvfp4' is not known"),
        ({"--isl": "0"}, "--isl must be > 0"),
        ({"--itl-ms": "-1"}, "--itl-ms must be > 0"),
        ({"--itl-ms": "1"}, "no deployment meets the SLO"),
        ({"--isl": "200000"}, "exceeds llama-3.3-70b's context"),
    ],
)
def test_size_rejects_bad_input_with_exit_2(change: dict[str, str], message: str) -> None:
    args = list(EXAMPLE)
    for flag, value in change.items():
        args[args.index(flag) + 1] = value
    r = run(args)
    assert r.exit_code == 2
    assert message in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_size_needs_exactly_one_of_rps_and_concurrency() -> None:
    both = run([*EXAMPLE, "--concurrency", "8"])
    neither = run([a for a in EXAMPLE if a not in ("--rps", "4")])
    for r in (both, neither):
        assert r.exit_code == 2 and "exactly one of --rps or --concurrency" in r.output


def test_size_rejects_fp4_on_hopper_and_wrong_node_type() -> None:
    fp4 = run([*EXAMPLE[:-4], "--weights-dtype", "nvfp4"])
    assert fp4.exit_code == 2 and "FP4 tensor cores" in fp4.output
    node = run([*EXAMPLE, "--node-type", "p5e.48xlarge"])
    assert node.exit_code == 2 and "not h100-sxm-80gb" in node.output


def test_size_non_numeric_is_a_usage_error() -> None:
    args = list(EXAMPLE)
    args[args.index("--osl") + 1] = "many"
    assert run(args).exit_code == 2
