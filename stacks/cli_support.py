"""What the CLI verbs share: consoles, the exit-code policy, synthesizing a stack, reading plan directories, and
finding the upstream schema directories (fail closed: a named directory that does not exist is an error).

Exit codes (DESIGN.md ★ CLI): 0 ok · 1 invalid / violation / internal error · 2 bad config or input · 3 destructive.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from components.loader import SpecError, read_stack_file
from components.spec import StackSpec

if TYPE_CHECKING:
    from stacks.engine import Plan

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
REPO = Path(__file__).resolve().parent.parent
EXIT_INVALID, EXIT_BAD_INPUT = 1, 2


def upstream_root() -> Path:
    """../shared/upstream beside the checkout (README: "Upstream reference data"), or INFERENCE_RA_UPSTREAM."""
    return Path(os.environ.get("INFERENCE_RA_UPSTREAM") or REPO.parent / "shared" / "upstream")


def print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            out.print(f"inference-ra {version('inference-ra')}")
        except PackageNotFoundError:
            out.print("inference-ra (not installed: version unknown)")
        raise typer.Exit(0)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One line on stderr, then the exit code."""
    err.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code)


def fail_config(exc: SpecError) -> NoReturn:
    """Every problem with its key path; exit 2, or 1 when a spec rule itself failed (a bug, not the config)."""
    err.print(f"[bold red]invalid stack config[/] {exc.source}".rstrip(), soft_wrap=True)
    for p in exc.problems:
        err.print(f"  {p.render()}", soft_wrap=True, markup=False)
    raise typer.Exit(EXIT_INVALID if exc.internal else EXIT_BAD_INPUT)


def synth_or_exit(
    stack: str, charts_dir: str | None = None, allow_unrendered: bool = False, layer: str | None = None
) -> tuple[str, Plan]:
    """Synthesize a stack (or, with `layer`, one layer stack of it: components/layering.py) for a verb: bad config
    or a chart that cannot be found offline exits 2 with every problem; a failing program or a chart Helm cannot
    render exits 1."""
    from stacks.charts import ChartSourceError, HelmRenderError
    from stacks.engine import SynthError
    from stacks.engine import synth as run_synth

    try:
        stack_file = read_stack_file(stack)
        plan = run_synth(
            stack_file,
            charts_dir=charts_dir_or_none(charts_dir),
            allow_unrendered_charts=allow_unrendered,
            layer=layer,
        )
        return plan.stack, plan
    except SpecError as exc:
        fail_config(exc)
    except ChartSourceError as exc:
        fail(f"chart not available offline: {exc}")
    except (SynthError, HelmRenderError) as exc:
        fail(f"synth failed: {exc}", EXIT_INVALID)


def charts_dir_or_none(flag: str | None) -> Path | None:
    """Local chart copies: --charts-dir, else $INFERENCE_RA_CHARTS_DIR, else ../shared/upstream/charts when present.
    A named directory must exist; with none, synth fails closed on the first chart (unless explicitly allowed)."""
    return _schema_dir(flag, "--charts-dir", "INFERENCE_RA_CHARTS_DIR", "charts")


def plan_or_exit(plan_dir: str) -> dict[str, Any]:
    """plan.json of a plan directory; a missing, corrupt or foreign plan exits 2 with one line."""
    from stacks.plan_dir import PlanDirError, read_plan_json

    try:
        return read_plan_json(Path(plan_dir))
    except PlanDirError as exc:
        fail(f"cannot read plan: {exc}")


def emit_json(doc: Any) -> None:
    """Strict JSON (no NaN/Infinity), never wrapped to a terminal width."""
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n")


def progress(message: str) -> None:
    """A progress line for long steps, on stderr (stdout stays the result)."""
    err.print(f"[dim]{message}[/]", soft_wrap=True)


# ----------------------------------------------------------------------------------------------- synth, plans
def max_gpus(spec: StackSpec) -> int:
    return sum(nt.gpus * p.nodes.max for p in spec.gpu_pools if (nt := spec.node_type(p)) is not None)


def synth_summary(name: str, plan: Plan, target: Path) -> dict[str, Any]:
    spec = plan.spec
    return {
        "stack": name,
        "out": str(target),
        "resources": len(plan.resources),
        "types": dict(sorted(Counter(r.type for r in plan.resources).items())),
        "gpuPools": len(spec.gpu_pools),
        "maxGpus": max_gpus(spec),
        "models": len(spec.serving.models),
    }


def plan_spec(plan_json: dict[str, Any]) -> StackSpec | None:
    """The spec of the stack file that produced the plan (when it is here and valid): its Kubernetes version and
    the objects it declares as existing."""
    from components.loader import spec_from_stack_file

    try:
        return spec_from_stack_file(read_stack_file(str(plan_json["stack"])))
    except (SpecError, KeyError):
        return None


def manifest_objects(plan_dir: Path, plan_json: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The manifests/ objects to validate, and findings where manifests/ is unreadable or differs from plan.json."""
    from stacks.plan_dir import CHARTS_DIR, compare_manifests, read_manifests
    from stacks.validate import Finding

    objects, problems = read_manifests(plan_dir / "manifests")
    problems += compare_manifests(plan_json, objects, plan_dir / "manifests")
    ours = [obj for rel, obj in objects.items() if not rel.startswith(CHARTS_DIR + "/")]  # charts: checked per chart
    return ours, [Finding(where, "", message) for where, message in problems]


# ------------------------------------------------------------------------------------------- upstream schemas
@dataclass(frozen=True)
class SchemaDirs:
    crd_dir: Path | None
    chart_values_dir: Path | None


def _schema_dir(flag: str | None, flag_name: str, env: str, sub: str) -> Path | None:
    """--flag, else $ENV, else ../shared/upstream/<sub> when present. A named directory must exist."""
    if flag:
        if not Path(flag).is_dir():
            fail(f"{flag_name} {flag} is not a directory")
        return Path(flag)
    if os.environ.get(env):
        if not Path(os.environ[env]).is_dir():
            fail(f"{env}={os.environ[env]} is not a directory (unset it or point it at the upstream {sub}/)")
        return Path(os.environ[env])
    candidate = upstream_root() / sub
    return candidate if candidate.is_dir() else None


def schema_dirs_or_exit(crd_dir: str | None, chart_values_dir: str | None, allow_unvalidated: bool) -> SchemaDirs:
    """Both schema directories; without one, exit 2 unless --allow-unvalidated (then the summary says so)."""
    dirs = SchemaDirs(
        _schema_dir(crd_dir, "--crd-dir", "INFERENCE_RA_CRD_DIR", "crds"),
        _schema_dir(chart_values_dir, "--chart-values-dir", "INFERENCE_RA_CHART_VALUES_DIR", "chart-values"),
    )
    missing = [
        what
        for what, have in (
            ("CRDs (--crd-dir / INFERENCE_RA_CRD_DIR)", dirs.crd_dir),
            ("chart values (--chart-values-dir / INFERENCE_RA_CHART_VALUES_DIR)", dirs.chart_values_dir),
        )
        if have is None
    ]
    if missing and not allow_unvalidated:
        fail(
            f"no upstream {' and no '.join(missing)}, and {upstream_root()} is absent: custom resources and chart "
            "values cannot be validated. Give the directories (README: upstream reference data), or pass "
            "--allow-unvalidated to validate core kinds only"
        )
    return dirs
