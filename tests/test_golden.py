"""Golden plans: each shipped stack's synth output equals tests/golden/<stack>/ byte for byte.

A failure here means the rendering changed. If the change is intended, run `make golden` and review
`git diff tests/golden` in the same commit.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from stacks.golden import CHART_OBJECTS_DIR, GOLDEN_DIR
from stacks.output import write_plan
from stacks.report import render_report
from tests.conftest import SHIPPED_STACKS, shipped_plan


def _files(root: Path) -> dict[str, str]:
    """Every file of a plan directory but the rendered chart objects (plan.json pins those by sha256)."""
    skip = root / "manifests" / CHART_OBJECTS_DIR
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and skip not in p.parents
    }


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_golden_plan(stack: str, tmp_path: Path) -> None:
    golden = GOLDEN_DIR / stack
    assert golden.is_dir(), f"no golden plan for {stack}: run `make golden`"
    plan = shipped_plan(stack)
    out = write_plan(plan, tmp_path / stack, render_report(plan))
    want, got = _files(golden), _files(out)
    assert sorted(got) == sorted(want), "files differ (added/removed objects): run `make golden` and review the diff"
    for name in want:
        if want[name] != got[name]:
            diff = "".join(
                list(difflib.unified_diff(want[name].splitlines(True), got[name].splitlines(True), name, name))[:60]
            )
            pytest.fail(f"{stack}/{name} differs from golden (run `make golden` if intended):\n{diff}")
