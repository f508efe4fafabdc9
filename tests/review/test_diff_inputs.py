"""diff on bad input: exit 2 with a message, never "everything deleted" (exit 3), never a traceback (issue 18, item 12);
text output lists destructive changes first; the system node group is not GPU capacity."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stacks.cli import app
from stacks.diff import diff_plans
from stacks.review import review_dirs, to_text
from tests.review.test_diff import FSX, NODEGROUP, mutate, plan, res, write_plan_dir

runner = CliRunner()


def _diff(base: Path, head: Path) -> Any:
    return runner.invoke(app, ["diff", "--base", str(base), "--head", str(head)])


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "",  # empty
        lambda text: "not json",  # garbage
        lambda text: json.dumps({"resources": "all"}),  # wrong shape
        lambda text: json.dumps({"stack": "s", "resources": [{"urn": 1}]}),  # a resource without urn/type
    ],
)
def test_rejects_a_corrupt_head_plan_with_exit_2(tmp_path: Path, corrupt: Any) -> None:
    base = write_plan_dir(tmp_path / "base", plan(FSX, NODEGROUP))
    head = write_plan_dir(tmp_path / "head", plan(FSX, NODEGROUP))
    (head / "plan.json").write_text(corrupt((head / "plan.json").read_text()))
    result = _diff(base, head)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "diff:" in result.output


def test_rejects_a_missing_head_plan_instead_of_deleting_everything(tmp_path: Path) -> None:
    base_root, head_root = tmp_path / "base", tmp_path / "head"
    write_plan_dir(base_root / "s", plan(FSX, NODEGROUP))
    head_root.mkdir()
    result = _diff(base_root, head_root)
    assert result.exit_code == 2, result.output
    assert "no head plan for stack 's'" in " ".join(result.output.split())


def test_rejects_plans_of_different_stacks(tmp_path: Path) -> None:
    base = write_plan_dir(tmp_path / "base", plan(FSX))
    other = {**plan(FSX), "stack": "other"}
    head = write_plan_dir(tmp_path / "head", other)
    result = _diff(base, head)
    assert result.exit_code == 2 and "compare plans of the same stack" in " ".join(result.output.split())


def test_a_stack_only_in_head_is_all_additions(tmp_path: Path) -> None:
    base_root, head_root = tmp_path / "base", tmp_path / "head"
    base_root.mkdir()
    write_plan_dir(head_root / "s", plan(FSX))
    review = review_dirs(base_root, head_root)
    assert [c.action for c in review.diffs[0].changes] == ["add"] and review.destructive_count == 0


def test_text_lists_destructive_changes_first(tmp_path: Path) -> None:
    base = write_plan_dir(tmp_path / "base", plan(FSX, NODEGROUP))
    head = write_plan_dir(tmp_path / "head", plan(mutate(NODEGROUP, "instanceTypes", ["p5e.48xlarge"])))
    text = to_text(review_dirs(base, head))
    lines = text.splitlines()
    first_change = next(i for i, line in enumerate(lines) if line.startswith(("  +", "  -", "  ~")))
    destructive = [i for i, line in enumerate(lines) if "DESTRUCTIVE" in line]
    assert destructive and max(destructive) < first_change, text


def test_system_node_group_is_not_labelled_gpu_capacity() -> None:
    system = res(
        "aws:eks/nodeGroup:NodeGroup",
        "infer-prod-system",
        {"instanceTypes": ["m7i.4xlarge"], "labels": {"inference-ra.nvidia.com/role": "system"}},
        layer="cluster",
    )
    changed = copy.deepcopy(system)
    changed["inputs"]["instanceTypes"] = ["m7i.8xlarge"]
    (d,) = diff_plans(plan(system), plan(changed)).destructive
    assert d.kind == "node group (CPU capacity)" and "GPU" not in d.reason
    gpu = mutate(NODEGROUP, "labels", {"inference-ra.nvidia.com/gpu": "h100-sxm-80gb"})
    (g,) = diff_plans(plan(gpu), plan(mutate(gpu, "instanceTypes", ["p5e.48xlarge"]))).destructive
    assert g.kind == "node group (GPU capacity)"
