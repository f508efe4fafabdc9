"""`inference-ra` command line. Exit codes (DESIGN.md): 0 ok · 1 invalid / violation · 2 bad config or input."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from components.loader import SpecError, read_stack_file
from components.spec import StackSpec

if TYPE_CHECKING:
    from stacks.engine import Plan

app = typer.Typer(add_completion=False, no_args_is_help=True, help="NVIDIA Inference Reference Architecture stacks.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
REPO = Path(__file__).resolve().parent.parent
UPSTREAM = REPO.parent / "shared" / "upstream"


def fail_config(exc: SpecError) -> typer.Exit:
    err.print(f"[bold red]invalid stack config[/] {exc.source}".rstrip(), soft_wrap=True)
    for p in exc.problems:
        err.print(f"  {p.render()}", soft_wrap=True, markup=False)
    return typer.Exit(2)


def default_dir(flag: str | None, env: str, sub: str) -> Path | None:
    if flag:
        return Path(flag)
    if os.environ.get(env):
        return Path(os.environ[env])
    candidate = UPSTREAM / sub
    return candidate if candidate.is_dir() else None


CHARTS_DIR_HELP = "Local copies of the pinned charts for offline rendering (env INFERENCE_RA_CHARTS_DIR)."
ALLOW_UNRENDERED_HELP = "Write the plan even if a chart cannot be found offline (its objects stay unchecked)."


def synth_or_exit(stack: str, charts_dir: str | None = None, allow_unrendered: bool = False) -> tuple[str, Plan]:
    """Synthesize a stack for a verb: bad config or a chart that cannot be found exits 2 with every problem; a
    failing program or a chart Helm cannot render exits 1."""
    from stacks.charts import ChartSourceError, HelmRenderError
    from stacks.engine import SynthError
    from stacks.engine import synth as run_synth

    try:
        stack_file = read_stack_file(stack)
        plan = run_synth(
            stack_file,
            charts_dir=default_dir(charts_dir, "INFERENCE_RA_CHARTS_DIR", "charts"),
            allow_unrendered_charts=allow_unrendered,
        )
        return stack_file.name, plan
    except SpecError as exc:
        raise fail_config(exc) from None
    except ChartSourceError as exc:
        err.print(f"[bold red]chart not available offline[/]: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(2) from None
    except (SynthError, HelmRenderError) as exc:
        err.print(f"[bold red]synth failed[/]: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(1) from None


def max_gpus(spec: StackSpec) -> int:
    return sum(nt.gpus * p.nodes.max for p in spec.gpu_pools if (nt := spec.node_type(p)) is not None)


@app.command()
def synth(
    stack: Annotated[str, typer.Argument(help="Stack name (stacks/Pulumi.<STACK>.yaml) or path.")],
    out_dir: Annotated[str | None, typer.Option("--out", help="Output directory (default out/<STACK>).")] = None,
    charts_dir: Annotated[str | None, typer.Option("--charts-dir", help=CHARTS_DIR_HELP)] = None,
    allow_unrendered: Annotated[bool, typer.Option("--allow-unrendered-charts", help=ALLOW_UNRENDERED_HELP)] = False,
) -> None:
    """Render the stack offline: plan.json, manifests/ (chart objects under manifests/_charts/), report.md."""
    from stacks.output import write_plan
    from stacks.report import render_report

    name, plan = synth_or_exit(stack, charts_dir, allow_unrendered)
    target = write_plan(plan, Path(out_dir or f"out/{name}"), render_report(plan))
    table = Table(title=f"inference-ra synth {name}", show_lines=False)
    table.add_column("resource type")
    table.add_column("count", justify="right")
    for type_, n in sorted(Counter(r.type for r in plan.resources).items()):
        table.add_row(type_, str(n))
    out.print(table)
    spec = plan.spec
    out.print(
        f"{len(plan.resources)} resources, {len(spec.gpu_pools)} GPU pools (up to {max_gpus(spec)} GPUs), "
        f"{len(spec.serving.models)} models -> {target}"
    )
    if plan.charts is not None and (plan.charts.renderings or plan.charts.skipped):
        objects = sum(len(w) for w in plan.charts.written.values())
        out.print(
            f"{len(plan.charts.renderings)} charts rendered ({objects} objects under manifests/_charts) in "
            f"{plan.charts.seconds:.2f} s"
            + (
                f"; [yellow]{len(plan.charts.skipped)} not rendered[/] (--allow-unrendered-charts)"
                if plan.charts.skipped
                else ""
            )
        )


@app.command()
def validate(
    stack: Annotated[str | None, typer.Argument(help="Stack to synthesize and validate.")] = None,
    plan_dir: Annotated[str | None, typer.Option("--plan", help="Validate an existing plan directory.")] = None,
    crd_dir: Annotated[str | None, typer.Option("--crd-dir", help="Upstream CRDs (env INFERENCE_RA_CRD_DIR).")] = None,
    chart_values_dir: Annotated[
        str | None,
        typer.Option("--chart-values-dir", help="Upstream chart values (env INFERENCE_RA_CHART_VALUES_DIR)."),
    ] = None,
    kubernetes_version: Annotated[
        str | None, typer.Option("--kubernetes-version", help="Schemas of this version (with --plan).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Findings as JSON.")] = False,
    charts_dir: Annotated[str | None, typer.Option("--charts-dir", help=CHARTS_DIR_HELP)] = None,
) -> None:
    """Validate every object, rendered chart objects included: core kinds strictly, CRs against the charts' and
    upstream CRDs, chart values keys, and that every referenced object exists."""
    from stacks.charts.loaded import ChartView, views_from_dir, views_from_plan
    from stacks.validate import Validator, load_plan_dir

    if bool(stack) == bool(plan_dir):
        err.print("give exactly one of STACK or --plan DIR")
        raise typer.Exit(2)
    spec: StackSpec | None = None
    views: list[ChartView]
    try:
        if plan_dir:
            plan_json = load_plan_dir(Path(plan_dir))
            views = views_from_dir(plan_json, Path(plan_dir))
            k8s_version = kubernetes_version
            try:  # the stack file that produced the plan knows its Kubernetes version and declared objects
                from components.loader import spec_from_stack_file

                spec = spec_from_stack_file(read_stack_file(plan_json["stack"]))
                k8s_version = k8s_version or spec.cluster.kubernetes_version
            except (SpecError, KeyError):
                spec = None
        else:
            _name, plan = synth_or_exit(stack or "", charts_dir)
            plan_json = plan.to_json()
            views = views_from_plan(plan)
            spec = plan.spec
            k8s_version = plan.spec.cluster.kubernetes_version
    except SpecError as exc:
        raise fail_config(exc) from None
    except (OSError, ValueError) as exc:
        err.print(f"cannot read plan: {exc}")
        raise typer.Exit(2) from None
    validator = Validator(
        kubernetes_version=k8s_version or "1.33",
        crd_dir=default_dir(crd_dir, "INFERENCE_RA_CRD_DIR", "crds"),
        chart_values_dir=default_dir(chart_values_dir, "INFERENCE_RA_CHART_VALUES_DIR", "chart-values"),
        charts_dir=default_dir(charts_dir, "INFERENCE_RA_CHARTS_DIR", "charts"),
    )
    result = validator.validate_plan(plan_json, views, spec)
    if as_json:
        out.print_json(json.dumps(result.to_json()))
    else:
        for note in result.notes:
            err.print(f"[yellow]note[/]: {note}", soft_wrap=True)
        for f in result.upstream:
            out.print(f"UPSTREAM {f.render()}", soft_wrap=True, markup=False)
        for f in result.findings:
            out.print(f"INVALID {f.render()}", soft_wrap=True, markup=False)
        for release, c in sorted(result.charts.items()):
            out.print(
                f"chart {release}: {c.objects} rendered objects, {c.findings} finding(s), {c.upstream} upstream",
                markup=False,
            )
        rendered = sum(c.objects for c in result.charts.values())
        out.print(
            f"{result.checked_objects} objects, {result.checked_charts} charts ({rendered} rendered objects) checked: "
            f"{len(result.findings)} finding(s)"
        )
    raise typer.Exit(1 if result.findings else 0)


@app.command()
def diff(
    base: Annotated[
        str | None, typer.Option("--base", help="Base plan dir (or a dir of plan dirs, e.g. out/).")
    ] = None,
    head: Annotated[str | None, typer.Option("--head", help="Head plan dir (or a dir of plan dirs).")] = None,
    base_ref: Annotated[
        str | None, typer.Option("--base-ref", help="Git revision to synthesize as base; head = the working tree.")
    ] = None,
    stack: Annotated[list[str] | None, typer.Option("--stack", help="Stack(s) to compare (default: all).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text | markdown | json")] = "text",
    out_file: Annotated[str | None, typer.Option("--out", help="Write the report to a file.")] = None,
    allow_destructive: Annotated[
        bool, typer.Option("--allow-destructive", help="Exit 0 even with destructive changes.")
    ] = False,
) -> None:
    """Compare two plans for PR review; exit 3 when a change replaces or deletes stateful capacity."""
    from stacks.golden import SHIPPED_STACKS
    from stacks.review import EXIT_DESTRUCTIVE, ReviewError, review_dirs, review_ref, to_json, to_markdown, to_text

    if fmt not in ("text", "markdown", "json"):
        err.print(f"--format must be text, markdown or json (got {fmt!r})")
        raise typer.Exit(2)
    if bool(base_ref) == bool(base or head) or (not base_ref and not (base and head)):
        err.print("give --base DIR and --head DIR, or --base-ref GIT_REF")
        raise typer.Exit(2)
    try:
        if base_ref:
            review = review_ref(REPO, base_ref, stack, SHIPPED_STACKS)
        else:
            review = review_dirs(Path(base or ""), Path(head or ""), stack)
    except ReviewError as exc:
        err.print(f"diff: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(2) from None
    from stacks.review_policy import attach_policy

    attach_policy(review, review.heads)
    text = {"text": to_text, "markdown": to_markdown}.get(fmt, lambda r: json.dumps(to_json(r), indent=2) + "\n")(
        review
    )
    if out_file:
        Path(out_file).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if review.destructive_count and not allow_destructive:
        err.print(f"{review.destructive_count} destructive change(s): exit {EXIT_DESTRUCTIVE} (--allow-destructive)")
        raise typer.Exit(EXIT_DESTRUCTIVE)


@app.command()
def graph(
    stack: Annotated[str, typer.Argument(help="Stack name or path.")],
    out_dir: Annotated[str | None, typer.Option("--out", help="Output directory (default out/<STACK>).")] = None,
) -> None:
    """Draw the stack's architecture (layers, pools, fabric, storage, models, dependencies) as SVG and PNG."""
    from stacks.graph import render

    name, plan = synth_or_exit(stack)
    spec = plan.spec
    title = (
        f"{name}: {spec.cluster.provider} cluster {spec.cluster.name}, fabric {spec.network.fabric.type}, "
        f"up to {max_gpus(spec)} GPUs, {len(spec.serving.models)} model(s)"
    )
    for path in render(plan.to_json(), Path(out_dir or f"out/{name}"), title):
        out.print(f"wrote {path}")


@app.command()
def check(
    stack: Annotated[
        str | None, typer.Argument(help="Stack to synthesize and check (with --plan: whose policy key applies).")
    ] = None,
    plan_dir: Annotated[str | None, typer.Option("--plan", help="Check an existing plan directory.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Findings as JSON.")] = False,
) -> None:
    """Run the policy rules (the CrossGuard pack's functions) offline; exit 1 on a mandatory violation."""
    from policies.registry import PolicyConfigError
    from policies.runner import evaluate, mandatory, resources_from_plan, settings_for
    from stacks.charts.loaded import ChartView, chart_resources, views_from_dir, views_from_plan

    if not stack and not plan_dir:
        err.print("give STACK, --plan DIR, or both (the stack's policy key applies to the plan)")
        raise typer.Exit(2)
    spec: StackSpec | None = None
    chart_views: list[ChartView] = []
    try:
        if plan_dir:
            from stacks.validate import load_plan_dir

            plan_json = load_plan_dir(Path(plan_dir))
            chart_views = views_from_dir(plan_json, Path(plan_dir))
            name = stack or str(plan_json.get("stack", ""))
            try:
                from components.loader import spec_from_stack_file

                spec = spec_from_stack_file(read_stack_file(name))
            except SpecError as exc:
                if stack or not exc.problems or exc.problems[0].path != "(stack)":
                    raise  # a stack that exists but is invalid is bad config, not "no stack"
                err.print(f"[yellow]note[/]: no stack file for {name!r}: default policy levels and config")
        else:
            _name, plan = synth_or_exit(stack or "")
            plan_json, spec = plan.to_json(), plan.spec
            chart_views = views_from_plan(plan)
        settings = settings_for(spec)
    except SpecError as exc:
        raise fail_config(exc) from None
    except PolicyConfigError as exc:
        err.print("[bold red]invalid policy config[/]")
        for path, message, fix in exc.problems:
            err.print(f"  inference-ra:{path}: {message} ({fix})", soft_wrap=True, markup=False)
        raise typer.Exit(2) from None
    except (OSError, ValueError) as exc:
        err.print(f"cannot read plan: {exc}")
        raise typer.Exit(2) from None
    # the plan's resources and every object its charts render (the pods of the operators included)
    resources = resources_from_plan(plan_json) + chart_resources(chart_views)
    findings = evaluate(resources, settings)
    blocking = mandatory(findings)
    if as_json:
        doc = {
            "stack": plan_json.get("stack"),
            "mandatory": len(blocking),
            "advisory": len(findings) - len(blocking),
            "findings": [f.to_json() for f in findings],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")  # plain JSON: never wrapped to a terminal width
    else:
        wide = out if out.is_terminal else Console(highlight=False, width=200)  # CI logs: don't fold messages
        table = Table(title=f"inference-ra check {plan_json.get('stack')}", show_lines=True)
        for col in ("rule", "level", "resource", "message"):
            table.add_column(col, overflow="fold")
        for f in findings:
            style = "red" if f.level == "mandatory" else "yellow"
            table.add_row(f.rule, f"[{style}]{f.level}[/]", f.resource, f.message)
        if findings:
            wide.print(table)
        disabled = sorted(n for n, level in settings.levels.items() if level == "disabled")
        out.print(
            f"{len(settings.levels) - len(disabled)} rules on {len(resources)} resources "
            f"({len(resources) - len(plan_json.get('resources', []))} rendered from charts): "
            f"{len(blocking)} mandatory, {len(findings) - len(blocking)} advisory violation(s)"
            + (f"; disabled: {', '.join(disabled)}" if disabled else ""),
            soft_wrap=True,
        )
    raise typer.Exit(1 if blocking else 0)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the stack config (the `inference-ra:` keys)."""
    from components.spec import StackSpec

    doc = StackSpec.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "inference-ra stack config (keys under `inference-ra:`)"
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


@app.command()
def size(
    model: Annotated[str, typer.Option("--model", help="Architecture catalog key, e.g. llama-3.3-70b.")],
    gpu: Annotated[str, typer.Option("--gpu", help="GPU catalog key, e.g. h100-sxm-80gb.")],
    isl: Annotated[int, typer.Option("--isl", help="Input sequence length, tokens.")],
    osl: Annotated[int, typer.Option("--osl", help="Output sequence length, tokens.")],
    ttft_ms: Annotated[float, typer.Option("--ttft-ms", help="Time-to-first-token target (p95), ms.")],
    itl_ms: Annotated[float, typer.Option("--itl-ms", help="Inter-token latency target (p95), ms.")],
    rps: Annotated[float | None, typer.Option("--rps", help="Requests per second (or --concurrency).")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Concurrent requests (or --rps).")] = None,
    weights_dtype: Annotated[str, typer.Option("--weights-dtype", help="bf16 | fp16 | fp8 | nvfp4 | mxfp4.")] = "bf16",
    kv_dtype: Annotated[str, typer.Option("--kv-dtype", help="KV cache dtype: bf16 | fp16 | fp8.")] = "bf16",
    node_type: Annotated[
        str | None, typer.Option("--node-type", help="Node catalog key (default: the largest with that GPU).")
    ] = None,
    mode: Annotated[str, typer.Option("--mode", help="auto | aggregated | disaggregated.")] = "auto",
    cold_start_s: Annotated[float, typer.Option("--cold-start-s", help="Weights load target, seconds.")] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Capacity planner: the fewest GPUs that meet the SLO, with nodes, KV tiers and cost (docs/planner.md)."""
    from serving.planner.cli import SizeArgs, run_size

    try:
        result = run_size(
            SizeArgs(
                model,
                gpu,
                isl,
                osl,
                ttft_ms,
                itl_ms,
                rps,
                concurrency,
                weights_dtype,
                kv_dtype,
                node_type,
                mode,
                cold_start_s,
            )
        )
    except ValueError as exc:
        err.print(f"[bold red]inference-ra size[/]: {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    table = Table(title=f"inference-ra size {model} on {gpu}", show_header=False)
    for key, value in result.items():
        if key != "explanation":
            table.add_row(key, str(value))
    out.print(table)
    out.print(result["explanation"], soft_wrap=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
