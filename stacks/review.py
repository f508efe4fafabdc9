"""`inference-ra diff`: gather plan pairs (directories or a git revision), diff them, render text / markdown / JSON.

`--base-ref REF` synthesizes each stack at REF in a temporary git worktree (with this checkout's interpreter) and
at the working tree, so a PR can be reviewed without credentials or live state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stacks.diff import StackDiff, diff_plans
from stacks.layers import lands_in, stack_of, stack_of_urn
from stacks.plan_dir import PlanDirError, read_plan_json
from stacks.report import CapacityTotals, parse_capacity_totals

EXIT_DESTRUCTIVE = 3
MAX_YAML_LINES = 80


class ReviewError(Exception):
    """Bad input for diff (missing directory, unknown ref, a side that fails to synthesize)."""


@dataclass
class PlanSide:
    plan: dict[str, Any]
    capacity: CapacityTotals | None


@dataclass
class Review:
    diffs: list[StackDiff]
    capacity: dict[str, tuple[CapacityTotals | None, CapacityTotals | None]]
    policy: dict[str, list[dict[str, str]]]  # stack -> head policy findings (rule, level, resource, message)
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)  # stack -> head plan (for the policy pass)

    @property
    def destructive_count(self) -> int:
        return sum(len(d.destructive) for d in self.diffs)


def read_side(plan_dir: Path) -> PlanSide:
    """One side of a diff. A missing, corrupt or truncated plan.json is a ReviewError (exit 2): read as an empty
    plan it would show every resource deleted."""
    try:
        plan = read_plan_json(plan_dir)
    except PlanDirError as exc:
        raise ReviewError(str(exc)) from None
    report = plan_dir / "report.md"
    try:
        capacity = parse_capacity_totals(report.read_text(encoding="utf-8")) if report.is_file() else None
    except (OSError, UnicodeDecodeError, ValueError):
        capacity = None  # the report is for reading; the plan is what is compared
    from stacks.charts.loaded import plan_with_chart_objects

    # rendered chart objects join the resources: a values change that alters a DaemonSet shows as that change
    return PlanSide(plan_with_chart_objects(plan, plan_dir), capacity)


def plan_dirs(root: Path) -> dict[str, Path]:
    """A plan directory, or a directory of plan directories (out/), by the stack name in each plan.json."""
    if (root / "plan.json").is_file():
        return {read_side(root).plan["stack"]: root}
    if not root.is_dir():
        raise ReviewError(f"{root} is not a directory")
    found: dict[str, Path] = {}
    for p in sorted(root.iterdir()):
        if (p / "plan.json").is_file():
            stack = read_side(p).plan["stack"]
            if stack in found:
                raise ReviewError(f"{found[stack]} and {p} both hold a plan of stack {stack!r}")
            found[stack] = p
    return found


def _empty(stack: str) -> PlanSide:
    return PlanSide({"project": "inference-ra", "stack": stack, "resources": []}, None)


def review_dirs(base: Path, head: Path, stacks: list[str] | None = None) -> Review:
    base_dirs, head_dirs = plan_dirs(base), plan_dirs(head)
    if (base / "plan.json").is_file() and (head / "plan.json").is_file() and base_dirs.keys() != head_dirs.keys():
        raise ReviewError(
            f"{base} is a plan of stack {next(iter(base_dirs))!r} but {head} of {next(iter(head_dirs))!r}: "
            "compare plans of the same stack"
        )
    names = stacks or sorted(base_dirs.keys() | head_dirs.keys())
    pairs = {}
    for name in names:
        if name not in head_dirs:
            raise ReviewError(_no_head(name, head, name in base_dirs))
        base_side = read_side(base_dirs[name]) if name in base_dirs else _empty(name)
        head_side = read_side(head_dirs[name])
        _same_project(name, base_side, head_side)
        pairs[name] = (base_side, head_side)
    return _review(pairs)


def _no_head(name: str, head: Path | str, in_base: bool) -> str:
    if not in_base:
        return f"no plan for stack {name!r} on either side"
    return (
        f"no head plan for stack {name!r} under {head}: a missing plan is not a deleted stack (removing a stack "
        "file destroys nothing; `pulumi destroy` does, and is reviewed on its own)"
    )


def _same_project(name: str, base: PlanSide, head: PlanSide) -> None:
    projects = {str(side.plan.get("project", "")) for side in (base, head) if side.plan.get("resources")}
    if len(projects) > 1:
        raise ReviewError(f"stack {name!r}: base and head are plans of different projects ({sorted(projects)})")


def _review(pairs: dict[str, tuple[PlanSide, PlanSide]]) -> Review:
    return Review(
        diffs=[diff_plans(b.plan, h.plan) for b, h in pairs.values()],
        capacity={name: (b.capacity, h.capacity) for name, (b, h) in pairs.items()},
        policy={},
        heads={name: h.plan for name, (_b, h) in pairs.items()},
    )


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ReviewError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


@contextmanager
def worktree_at(repo: Path, ref: str) -> Iterator[Path]:
    commit = _git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix="inference-ra-base-"))
    src = tmp / "src"
    _git(repo, "worktree", "add", "--detach", str(src), commit)
    try:
        yield src
    finally:
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "remove", "--force", str(src)], capture_output=True, check=False
        )
        shutil.rmtree(tmp, ignore_errors=True)


def synth_tree(tree: Path, stack: str, out: Path) -> PlanSide | None:
    """Synthesize `stack` from the source tree `tree` in a subprocess; None when the tree has no such stack."""
    if not (tree / "stacks" / f"Pulumi.{stack}.yaml").is_file():
        return None
    env = {**os.environ, "PYTHONPATH": str(tree)}
    from stacks.charts import default_charts_dir

    charts_dir = default_charts_dir()  # a temporary worktree has no ../shared beside it: hand on this checkout's
    if charts_dir is not None:
        env.setdefault("INFERENCE_RA_CHARTS_DIR", str(charts_dir.resolve()))
    proc = subprocess.run(
        [sys.executable, "-m", "stacks.cli", "synth", stack, "--out", str(out)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ReviewError(f"synth {stack} at {tree} failed (exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}")
    return read_side(out)


def review_ref(
    repo: Path,
    ref: str,
    stacks: list[str] | None,
    shipped: tuple[str, ...],
    progress: Callable[[str], None] | None = None,
) -> Review:
    names = stacks or list(shipped)
    say = progress or (lambda _msg: None)
    pairs: dict[str, tuple[PlanSide, PlanSide]] = {}
    say(f"checking out {ref} into a temporary worktree")
    with tempfile.TemporaryDirectory(prefix="inference-ra-diff-") as tmp, worktree_at(repo, ref) as base_tree:
        for i, name in enumerate(names, 1):
            say(f"[{i}/{len(names)}] synthesizing {name} at {ref}")
            base = synth_tree(base_tree, name, Path(tmp) / "base" / name)
            say(f"[{i}/{len(names)}] synthesizing {name} in the working tree")
            head = synth_tree(repo, name, Path(tmp) / "head" / name)
            if head is None:
                raise ReviewError(_no_head(name, "the working tree", base is not None))
            pairs[name] = (base or _empty(name), head)
    return _review(pairs)


# ------------------------------------------------------------------------------------------------------ rendering
def _fmt(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _short(urn: str) -> str:
    type_chain, name = urn.split("::")[2], urn.split("::")[-1]
    return f"{type_chain.split('$')[-1]} {name}"


def _capacity_rows(review: Review) -> list[str]:
    rows = []
    for stack, (b, h) in review.capacity.items():
        if b is None and h is None:
            continue
        bg, hg = (b.gpus_max if b else 0), (h.gpus_max if h else 0)
        bc, hc = (b.cost_max if b else 0.0), (h.cost_max if h else 0.0)
        rows.append(f"| {stack} | {bg} → {hg} ({hg - bg:+d}) | {bc:,.2f} → {hc:,.2f} ({hc - bc:+,.2f}) |")
    return rows


def to_markdown(review: Review) -> str:
    out = ["## inference-ra plan diff", ""]
    n = review.destructive_count
    if n:
        out += [
            f"**⚠ {n} destructive change(s)** — `inference-ra diff` exits {EXIT_DESTRUCTIVE} unless "
            "`--allow-destructive`.",
            "",
            "### Destructive changes",
            "",
            "| stack | resource | action | why | forced by | protected |",
            "|---|---|---|---|---|---|",
        ]
        for d in review.diffs:
            for x in d.destructive:
                out.append(
                    f"| {d.stack} | `{_short(x.urn)}` | {x.action} | {x.reason} | "
                    f"{', '.join(f'`{f}`' for f in x.fields) or '—'} | {'yes' if x.protected else 'no'} |"
                )
        out.append("")
    else:
        out += ["No destructive changes.", ""]
    out += [
        "### Changes per layer",
        "",
        "| stack | layer | lands in (layer stack) | added | removed | changed |",
        "|---|---|---|---:|---:|---:|",
    ]
    any_change = False
    for d in review.diffs:
        for layer, per_layer in d.counts().items():
            any_change = True
            out.append(
                f"| {d.stack} | {layer} | {stack_of(layer)} | {per_layer['add']} | {per_layer['remove']} | "
                f"{per_layer['change']} |"
            )
    if not any_change:
        out.append("| — | — | — | 0 | 0 | 0 |")
    cap = _capacity_rows(review)
    if cap:
        out += ["", "### GPUs and cost (pool maxima)", "", "| stack | GPUs | $/hour |", "|---|---|---|", *cap]
    if review.policy:
        out += [
            "",
            "### Policy results (head)",
            "",
            "| stack | rule | level | resource | message |",
            "|---|---|---|---|---|",
        ]
        for stack, findings in review.policy.items():
            for f in findings:
                out.append(f"| {stack} | {f['rule']} | {f['level']} | `{f['resource']}` | {f['message']} |")
            if not findings:
                out.append(f"| {stack} | — | — | — | no violations |")
    for d in review.diffs:
        details = [c for c in d.changes if c.action == "change"]
        if not details:
            continue
        out += ["", f"<details><summary>{d.stack}: {len(details)} changed resource(s)</summary>", ""]
        for c in details:
            out.append(f"**{c.action}** `{_short(c.urn)}`")
            if c.yaml_diff:
                lines = c.yaml_diff.splitlines()
                clipped = lines[:MAX_YAML_LINES] + (
                    [f"... {len(lines) - MAX_YAML_LINES} more lines"] if len(lines) > MAX_YAML_LINES else []
                )
                out += ["```diff", *clipped, "```"]
            else:
                out += [f"- `{f.path}`: {_fmt(f.old)} → {_fmt(f.new)}" for f in c.fields]
            out.append("")
        out.append("</details>")
    return "\n".join(out).rstrip() + "\n"


def to_json(review: Review) -> dict[str, Any]:
    return {
        "destructive": review.destructive_count,
        "stacks": [
            {
                "stack": d.stack,
                "counts": d.counts(),
                "destructive": [asdict(x) for x in d.destructive],
                "changes": [
                    {
                        "urn": c.urn,
                        "type": c.type,
                        "layer": c.layer,
                        "landsIn": stack_of(c.layer),
                        "action": c.action,
                        "fields": [asdict(f) for f in c.fields],
                    }
                    for c in d.changes
                ],
                "capacity": {
                    side: asdict(cap) if cap else None
                    for side, cap in zip(("base", "head"), review.capacity.get(d.stack, (None, None)), strict=True)
                },
                "policy": review.policy.get(d.stack, []),
            }
            for d in review.diffs
        ],
    }


def to_text(review: Review) -> str:
    lines = []
    for d in review.diffs:
        counts = {"add": 0, "remove": 0, "change": 0}
        for per_layer in d.counts().values():
            for k in counts:
                counts[k] += per_layer[k]
        landing = ", ".join(f"{s} {n}" for s, n in lands_in(d.changes).items())
        lines.append(
            f"{d.stack}: +{counts['add']} -{counts['remove']} ~{counts['change']}"
            + (f" (lands in: {landing})" if landing else "")
        )
        for x in d.destructive:  # first, as in markdown: what a reviewer must not miss
            lines.append(f"  DESTRUCTIVE {x.action} [{stack_of_urn(x.urn)}] {_short(x.urn)}: {x.reason}")
        for c in d.changes:
            mark = {"add": "+", "remove": "-", "change": "~"}[c.action]
            lines.append(f"  {mark} [{stack_of(c.layer)}] {_short(c.urn)}")
            lines += [f"      {f.path}: {_fmt(f.old)} -> {_fmt(f.new)}" for f in c.fields[:20]]
    return "\n".join(lines) + "\n"
