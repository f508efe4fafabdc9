"""`make golden`: regenerate the golden plans of the shipped stacks under tests/golden/<stack>/.

Golden plans are reviewed as diffs: regenerate them deliberately, read `git diff tests/golden`, commit with the
change that caused them. Rendered chart objects (manifests/_charts/, ~6-10 MB per stack, mostly upstream CRDs) are
not kept: plan.json lists every one with its sha256 (`rendered.objects`), so a changed object still changes the
golden plan, and `inference-ra diff` shows the change itself.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from components.loader import read_stack_file
from stacks.engine import synth
from stacks.output import write_plan
from stacks.report import render_report

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "tests" / "golden"
SHIPPED_STACKS = ("dev", "aws-h100", "ncp-ib")
CHART_OBJECTS_DIR = "_charts"  # not kept in golden plans (plan.json pins each object by sha256)


def regenerate(stacks: list[str]) -> None:
    for name in stacks:
        plan = synth(read_stack_file(name))
        target = write_plan(plan, GOLDEN_DIR / name, render_report(plan))
        shutil.rmtree(target / "manifests" / CHART_OBJECTS_DIR, ignore_errors=True)
        print(f"golden {name}: {len(plan.resources)} resources -> {target}")


if __name__ == "__main__":
    regenerate(sys.argv[1:] or list(SHIPPED_STACKS))
