"""`inference-ra` command line. Exit codes (DESIGN.md ★ CLI): 0 ok · 1 invalid / violation · 2 bad config or input ·
3 destructive (diff). Shared helpers live in stacks/cli_support.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from components.loader import SpecError, read_stack_file
from components.spec import StackSpec
from stacks.cli_support import (
    REPO,
    charts_dir_or_none,
    emit_json,
    err,
    fail,
    fail_config,
    manifest_objects,
    max_gpus,
    out,
    plan_or_exit,
    plan_spec,
    print_version,
    progress,
    schema_dirs_or_exit,
    synth_or_exit,
    synth_summary,
)

if TYPE_CHECKING:
    pass

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="NVIDIA Inference Reference Architecture stacks.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
GRAPH_DIR = "out/graphs"  # pictures live apart from plan dirs, which synth replaces as a whole


@app.callback()
def _main(
    _version_flag: Annotated[
        bool, typer.Option("--version", callback=print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """NVIDIA Inference Reference Architecture stacks."""


CHARTS_DIR_HELP = "Local copies of the pinned charts for offline rendering (env INFERENCE_RA_CHARTS_DIR)."
ALLOW_UNRENDERED_HELP = "Write the plan even if a chart cannot be found offline (its objects stay unchecked)."


@app.command()
def synth(
    stack: Annotated[str, typer.Argument(help="Stack name (stacks/Pulumi.<STACK>.yaml) or path.")],
    out_dir: Annotated[
        str | None,
        typer.Option("--out", help="Output directory (default out/<STACK>); replaced only if inference-ra wrote it."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    charts_dir: Annotated[str | None, typer.Option("--charts-dir", help=CHARTS_DIR_HELP)] = None,
    allow_unrendered: Annotated[bool, typer.Option("--allow-unrendered-charts", help=ALLOW_UNRENDERED_HELP)] = False,
    layer: Annotated[
        str | None,
        typer.Option("--layer", help="Only one layer stack: infra | platform | serving (docs/layers.md)."),
    ] = None,
) -> None:
    """Render the stack offline: plan.json, manifests/ (chart objects under manifests/_charts/), report.md.

    With --layer (or a layer stack's file, stacks/Pulumi.<base>-<layer>.yaml) the program runs as that layer stack
    (docs/layers.md): only its layers, earlier stacks read through StackReferences (placeholders offline)."""
    from components.layering import LAYER_STACKS
    from stacks.output import OutputError, preflight, write_plan
    from stacks.report import render_report

    try:
        if layer is not None and layer not in LAYER_STACKS:
            fail(f"--layer must be one of {', '.join(LAYER_STACKS)} (got {layer!r})")
        default = f"out/{read_stack_file(stack).name}" + (f"-{layer}" if layer else "")
        preflight(Path(out_dir or default))  # refuse before spending the synth
    except OutputError as exc:
        fail(str(exc))
    except SpecError as exc:
        fail_config(exc)
    name, plan = synth_or_exit(stack, charts_dir, allow_unrendered, layer)
    try:
        target = write_plan(plan, Path(out_dir or f"out/{name}"), render_report(plan))
    except OutputError as exc:
        fail(str(exc))
    doc = synth_summary(name, plan, target)
    if as_json:
        emit_json(doc)
        return
    table = Table(title=f"inference-ra synth {name}", show_lines=False)
    table.add_column("resource type")
    table.add_column("count", justify="right")
    for type_, n in doc["types"].items():
        table.add_row(type_, str(n))
    out.print(table)
    out.print(
        f"{doc['resources']} resources, {doc['gpuPools']} GPU pools (up to {doc['maxGpus']} GPUs), "
        f"{doc['models']} models -> {target}"
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
    plan_dir: Annotated[
        str | None, typer.Option("--plan", help="Validate an existing plan directory (its manifests/).")
    ] = None,
    crd_dir: Annotated[str | None, typer.Option("--crd-dir", help="Upstream CRDs (env INFERENCE_RA_CRD_DIR).")] = None,
    chart_values_dir: Annotated[
        str | None,
        typer.Option("--chart-values-dir", help="Upstream chart values (env INFERENCE_RA_CHART_VALUES_DIR)."),
    ] = None,
    kubernetes_version: Annotated[
        str | None, typer.Option("--kubernetes-version", help="Schemas of this version (with --plan).")
    ] = None,
    allow_unvalidated: Annotated[
        bool,
        typer.Option("--allow-unvalidated", help="Without CRDs / chart values, validate core kinds only (and say so)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Findings as JSON.")] = False,
    charts_dir: Annotated[str | None, typer.Option("--charts-dir", help=CHARTS_DIR_HELP)] = None,
) -> None:
    """Validate every object, rendered chart objects included: core kinds strictly, CRs against the charts' and
    upstream CRDs, chart values keys, and that every referenced object exists.

    With --plan, the objects validated are the manifests/ files (what a reviewer or GitOps tool applies), and they
    must equal plan.json's objects.
    """
    from stacks.charts.checks import validate_with_charts
    from stacks.charts.loaded import ChartView, views_from_dir, views_from_plan
    from stacks.validate import Finding, Validator

    if bool(stack) == bool(plan_dir):
        fail("give exactly one of STACK or --plan DIR")
    dirs = schema_dirs_or_exit(crd_dir, chart_values_dir, allow_unvalidated)
    objects: list[dict[str, Any]] | None = None
    extra: list[Finding] = []
    spec: StackSpec | None = None
    views: list[ChartView]
    if plan_dir:
        plan_json = plan_or_exit(plan_dir)
        spec = plan_spec(plan_json)
        k8s_version = kubernetes_version or (spec.cluster.kubernetes_version if spec else None)
        objects, extra = manifest_objects(Path(plan_dir), plan_json)
        try:
            views = views_from_dir(plan_json, Path(plan_dir))
        except (OSError, ValueError) as exc:
            fail(f"cannot read plan: {exc}")
    else:
        _name, plan = synth_or_exit(stack or "", charts_dir, allow_unvalidated)
        plan_json, k8s_version, spec = plan.to_json(), plan.spec.cluster.kubernetes_version, plan.spec
        views = views_from_plan(plan)
    validator = Validator(k8s_version or "1.33", dirs.crd_dir, dirs.chart_values_dir, charts_dir_or_none(charts_dir))
    result = validate_with_charts(validator, plan_json, views, spec, objects=objects)
    result.findings[:0] = extra
    if as_json:
        emit_json(result.to_json())
    else:
        for note in result.notes:
            err.print(f"[yellow]note[/]: {note}", soft_wrap=True)
        for f in result.upstream:
            out.print(f"UPSTREAM {f.render()}", soft_wrap=True, markup=False)
        for f in result.findings:
            out.print(f"[red]INVALID[/] {f.render()}", soft_wrap=True, markup=True)
        for release, c in sorted(result.charts.items()):
            out.print(
                f"chart {release}: {c.objects} rendered objects, {c.findings} finding(s), {c.upstream} upstream",
                markup=False,
            )
        rendered = sum(c.objects for c in result.charts.values())
        skipped = result.not_validated()
        out.print(
            f"{result.checked_objects} objects, {result.checked_charts} charts ({rendered} rendered objects) checked: "
            f"{len(result.findings)} finding(s)" + (f"; NOT validated: {', '.join(skipped)}" if skipped else ""),
            soft_wrap=True,
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
        fail(f"--format must be text, markdown or json (got {fmt!r})")
    if bool(base_ref) == bool(base or head) or (not base_ref and not (base and head)):
        fail("give --base DIR and --head DIR, or --base-ref GIT_REF")
    try:
        if base_ref:
            review = review_ref(REPO, base_ref, stack, SHIPPED_STACKS, progress=progress)
        else:
            review = review_dirs(Path(base or ""), Path(head or ""), stack)
    except ReviewError as exc:
        fail(f"diff: {exc}")
    from stacks.review_policy import attach_policy

    attach_policy(review, review.heads)
    text = {"text": to_text, "markdown": to_markdown}.get(fmt, lambda r: json.dumps(to_json(r), indent=2) + "\n")(
        review
    )
    if out_file:
        try:
            Path(out_file).write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"diff: cannot write --out {out_file}: {exc.strerror or exc}")
    else:
        sys.stdout.write(text)
    if review.destructive_count and not allow_destructive:
        err.print(f"{review.destructive_count} destructive change(s): exit {EXIT_DESTRUCTIVE} (--allow-destructive)")
        raise typer.Exit(EXIT_DESTRUCTIVE)


@app.command()
def graph(
    stack: Annotated[str | None, typer.Argument(help="Stack name or path (or --plan DIR).")] = None,
    plan_dir: Annotated[str | None, typer.Option("--plan", help="Draw an existing plan directory.")] = None,
    out_dir: Annotated[
        str, typer.Option("--out", help="Directory for architecture-<STACK>.svg/.png (not a plan dir).")
    ] = GRAPH_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Draw the stack's architecture (layers, pools, fabric, storage, models, dependencies) as SVG and PNG."""
    from stacks.pictures import PictureError, write_pictures

    if bool(stack) == bool(plan_dir):
        fail("give exactly one of STACK or --plan DIR")
    if plan_dir:
        plan_json = plan_or_exit(plan_dir)
        title = f"{plan_json['stack']}: {len(plan_json['resources'])} resources"
    else:
        name, plan = synth_or_exit(stack or "")
        spec, plan_json = plan.spec, plan.to_json()
        title = (
            f"{name}: {spec.cluster.provider} cluster {spec.cluster.name}, fabric {spec.network.fabric.type}, "
            f"up to {max_gpus(spec)} GPUs, {len(spec.serving.models)} model(s)"
        )
    try:
        paths = write_pictures(plan_json, Path(out_dir), title)
    except PictureError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"stack": plan_json["stack"], "files": [str(p) for p in paths]})
        return
    for path in paths:
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
            plan_json = plan_or_exit(plan_dir)
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
        fail_config(exc)
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
def schema(
    stack_file: Annotated[
        bool,
        typer.Option(
            "--stack-file",
            help="Schema of a whole Pulumi.<stack>.yaml (config: {inference-ra:<key>: ...}) with catalog enums, "
            "for editors (yaml-language-server).",
        ),
    ] = False,
) -> None:
    """Print the JSON Schema of the stack config (the `inference-ra:` keys), or of the whole stack file."""
    from stacks.schema import config_schema, stack_file_schema

    emit_json(stack_file_schema() if stack_file else config_schema())


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
    from serving.planner.cli import SizeArgs, human_rows, run_size

    args = SizeArgs(
        model, gpu, isl, osl, ttft_ms, itl_ms, rps, concurrency, weights_dtype, kv_dtype, node_type, mode, cold_start_s
    )
    try:
        result = run_size(args)
    except ValueError as exc:
        fail(f"inference-ra size: {exc}")
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"inference-ra size {model} on {gpu}", show_header=False)
    for label, value in human_rows(result):
        table.add_row(label, value)
    out.print(table)
    out.print(result["explanation"], soft_wrap=True)


@app.command()
def export(
    stack: Annotated[str, typer.Argument(help="Stack name (stacks/Pulumi.<STACK>.yaml) or path.")],
    fmt: Annotated[str, typer.Option("--format", help="argocd | flux")],
    repo_url: Annotated[str, typer.Option("--repo-url", help="Git repository the export is committed to.")],
    revision: Annotated[str, typer.Option("--revision", help="Branch (Flux) / targetRevision (Argo CD).")] = "main",
    repo_path: Annotated[str, typer.Option("--repo-path", help="The export's path inside that repository.")] = "",
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="Controller namespace (default argocd / flux-system).")
    ] = None,
    out_dir: Annotated[
        str | None, typer.Option("--out", help="Output directory (default out/gitops/<STACK>-<FORMAT>).")
    ] = None,
    crd_dir: Annotated[str | None, typer.Option("--crd-dir", help="Upstream CRDs (env INFERENCE_RA_CRD_DIR).")] = None,
    charts_dir: Annotated[str | None, typer.Option("--charts-dir", help=CHARTS_DIR_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Write the plan's Kubernetes objects and charts as Argo CD Applications or Flux Kustomizations/HelmReleases,
    in the plan's dependency order, validated against the controllers' CRDs (docs/gitops.md)."""
    from stacks.export.command import run_export

    run_export(stack, fmt, repo_url, revision, repo_path, namespace, out_dir, crd_dir, charts_dir, as_json)


def main() -> None:
    """The console script: an unexpected exception is one line naming it and exit 1, never a traceback (set
    INFERENCE_RA_DEBUG=1 for the traceback)."""
    import os

    try:
        app(standalone_mode=True)
    except Exception as exc:
        if os.environ.get("INFERENCE_RA_DEBUG"):
            raise
        err.print(
            f"inference-ra: internal error: {type(exc).__name__}: {exc} (a bug; INFERENCE_RA_DEBUG=1 shows the "
            "traceback)",
            soft_wrap=True,
            markup=False,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
