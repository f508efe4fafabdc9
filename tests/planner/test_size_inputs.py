"""`inference-ra size` on non-finite input, strict JSON, readable human output (issue 18, item 11)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from stacks.cli import app
from tests.planner.test_cli import EXAMPLE

runner = CliRunner()


def _with(flag: str, value: str) -> list[str]:
    args = list(EXAMPLE)
    args[args.index(flag) + 1] = value
    return args


@pytest.mark.parametrize("flag", ["--ttft-ms", "--itl-ms", "--rps", "--cold-start-s"])
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_rejects_non_finite_numbers_with_exit_2(flag: str, value: str) -> None:
    args = _with(flag, value) if flag in EXAMPLE else [*EXAMPLE, flag, value]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{flag} must be a finite number" in " ".join(result.output.split())


def test_json_is_strict() -> None:
    result = runner.invoke(app, [*EXAMPLE, "--json"])
    assert result.exit_code == 0
    json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_human_output_has_readable_labels_and_units() -> None:
    result = runner.invoke(app, EXAMPLE)
    assert result.exit_code == 0
    text = result.stdout
    assert "time to first token, p95 (ms)" in text and "cost, GPU share ($/hour)" in text
    assert "70.6 GB" in text  # weights, not 70600000000
    assert "8.8 GB" in text  # weights per GPU at TP8
    # every key of the JSON has a readable label (none shows as its camelCase key)
    assert not re.search(r"\b[a-z]+[A-Z][A-Za-z]*\b", text), text
