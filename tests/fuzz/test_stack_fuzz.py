"""Fuzzing the stack files and plan directories (issue 18): whatever a user writes, `synth` exits 0, or exits 2 naming
a key path; it never shows a traceback and never writes outside --out. Tampered plans make `diff` and `validate --plan`
exit 0-3 with a message, never a traceback.

`make test` runs a bounded campaign (profile "ci", a few seconds); `make fuzz` a long one (profile "fuzz").
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from components.loader import read_stack_file
from stacks.cli import app
from tests.conftest import CHART_VALUES_DIR, CRD_DIR, SHIPPED_STACKS

settings.register_profile(
    "ci", max_examples=int(os.environ.get("FUZZ_EXAMPLES", 20)), deadline=None, database=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", 3000)), deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

runner = CliRunner()
CONFIGS = {name: read_stack_file(name).config for name in SHIPPED_STACKS}

NASTY: list[Any] = [
    None, True, 0, -1, 1, 7, 2**31, 2**63, 10**30, 0.5, -0.0, 1e308, math.inf, -math.inf, math.nan,
    "", " ", "x", "UPPER", "a/b", "../../etc", "kube-system", "gpu-operator", "h100", "p5.48xlarge", "10.0.0.0/8",
    "10.0.0.1/33", "us-east-2a", "1.30", "v26.7.0", "é" * 70, "x" * 300, "a\nb", "{", [], [1, 1], ["a", "a"], {},
    {"bogus": 1}, {"name": "x"},
]  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_configs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    stack = draw(st.sampled_from(SHIPPED_STACKS))
    config = copy.deepcopy(CONFIGS[stack])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(config) if p]
        path = draw(st.sampled_from(paths))
        parent, last = _parent(config, path), path[-1]
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "duplicate", "add-key", "rename"]))
        if op == "replace":
            parent[last] = draw(st.sampled_from(NASTY) | st.integers() | st.text(max_size=12))
        elif op == "delete":
            del parent[last]
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif op == "add-key" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(st.sampled_from(NASTY))
        elif op == "rename" and isinstance(parent, dict):
            parent[f"{last}x"] = parent.pop(last)
    return stack, config


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@given(case=mutated_configs())
def test_synth_on_a_mutated_stack_exits_0_or_2_with_a_key_path(
    case: tuple[str, dict[str, Any]], tmp_path_factory: Any
) -> None:
    stack, config = case
    root = tmp_path_factory.mktemp("fuzz")
    (root / "Pulumi.fuzz.yaml").write_text(yaml.safe_dump({"config": config}, allow_unicode=True))
    before = _files(root)
    result = runner.invoke(app, ["synth", str(root / "Pulumi.fuzz.yaml"), "--out", str(root / "out" / "fuzz")])
    assert result.exception is None or isinstance(result.exception, SystemExit), (stack, result.exception)
    assert "Traceback" not in result.output
    event(f"synth exit {result.exit_code}")
    assert result.exit_code in (0, 2), (stack, result.exit_code, result.output[-3000:])
    if result.exit_code == 2:
        assert "inference-ra:" in result.output, result.output
    written = _files(root) - before
    allowed = {"out", "out/.fuzz.inference-ra.lock"}
    assert all(p in allowed or p.startswith("out/fuzz") for p in written), sorted(written - allowed)[:5]


PLAN_DIRS: dict[str, Path] = {}


def _plan_dir(tmp_path_factory: Any) -> Path:
    if "dev" not in PLAN_DIRS:
        out = tmp_path_factory.mktemp("plans") / "dev"
        assert runner.invoke(app, ["synth", "dev", "--out", str(out)]).exit_code == 0
        PLAN_DIRS["dev"] = out
    return PLAN_DIRS["dev"]


@settings(max_examples=max(5, settings.default.max_examples // 2))
@given(cut=st.floats(0, 1), junk=st.binary(max_size=8))
def test_diff_and_validate_on_a_tampered_plan_never_trace(cut: float, junk: bytes, tmp_path_factory: Any) -> None:
    base = _plan_dir(tmp_path_factory)
    head = tmp_path_factory.mktemp("head") / "dev"
    head.mkdir()
    text = (base / "plan.json").read_bytes()
    at = int(len(text) * cut)
    (head / "plan.json").write_bytes(text[:at] + junk + text[at + len(junk) :])
    (head / "manifests").symlink_to(base / "manifests")
    diffed = runner.invoke(app, ["diff", "--base", str(base), "--head", str(head)])
    assert diffed.exception is None or isinstance(diffed.exception, SystemExit), diffed.exception
    event(f"diff exit {diffed.exit_code}")
    assert diffed.exit_code in (0, 2, 3), diffed.output[-2000:]
    checked = runner.invoke(
        app, ["validate", "--plan", str(head), "--crd-dir", str(CRD_DIR), "--chart-values-dir", str(CHART_VALUES_DIR)]
    )
    assert checked.exception is None or isinstance(checked.exception, SystemExit), checked.exception
    event(f"validate --plan exit {checked.exit_code}")
    assert checked.exit_code in (0, 1, 2), checked.output[-2000:]
