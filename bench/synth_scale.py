"""Scale benchmark: synth and validation of a fleet-sized stack against the Pulumi SDK's own floor.

One run, one machine, every figure measured the same way:

  (a) synth      `stacks.engine.synth` of the fleet (bench/fleet.py), spec validation included, every chart
                 rendered (stacks/charts) from a warm render cache (as after any first run); the same without
                 rendering (the engine alone: what the targets below were set on); and rendering from a cold
                 cache (a first run, or a changed chart / values);
  (b) floor      the same number of registrations with trivial inputs (one-key ConfigMaps) through the same
                 recording mock monitor (`stacks.engine.run_offline`): what the SDK costs per registration;
      replay     the fleet's own recorded registrations again (types, names, inputs, parents, providers,
                 dependencies) with no project code: what the SDK costs for exactly this plan — the bound when
                 synth/floor exceeds the target;
  (c) validate   every rendered object and chart with `stacks.validate.Validator` (schemas compiled once per
                 kind, from a cold cache) against uncached validation (kubernetes_validate.validate per core
                 object, a CRD schema made strict and compiled per custom resource);
  and the same synth and floor at twice the fleet (nodes, pools and models doubled).

Each measurement runs in a forked child of a warmed-up parent (imports done, one tiny synth run), so timings do
not include imports and each peak-memory figure is that measurement's own: the child's peak RSS (reset at
fork) minus its RSS at start. Timings are the best of `--repeat` runs (a shared machine is noisy).

    PYTHONPATH=$PWD .venv/bin/python bench/synth_scale.py [--nodes 1024 --pools 16 --models 32] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import gc
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fleet import fleet_stack_file
from components.charts import CHART_TYPES
from stacks.engine import Plan, Registration, run_offline, synth

REPO = Path(__file__).resolve().parent.parent
UPSTREAM = Path(os.environ.get("INFERENCE_RA_UPSTREAM", REPO.parent / "shared" / "upstream"))
CRD_DIR = Path(os.environ.get("INFERENCE_RA_CRD_DIR", UPSTREAM / "crds"))
CHART_VALUES_DIR = Path(os.environ.get("INFERENCE_RA_CHART_VALUES_DIR", UPSTREAM / "chart-values"))

TARGET_SYNTH_OVER_FLOOR = 1.3
TARGET_SCALING = 2.1
TARGET_VALIDATION_SPEEDUP = 10.0


# ------------------------------------------------------------------------------------------------ measured work
def floor_program(count: int) -> Callable[[], None]:
    """`count` registrations with trivial inputs: one-key ConfigMaps through an explicit provider, as the stack's
    Kubernetes objects are (the provider is one of the `count`)."""

    def program() -> None:
        import pulumi
        import pulumi_kubernetes as k8s

        provider = k8s.Provider("floor", kubeconfig="{}")
        opts = pulumi.ResourceOptions(provider=provider)
        for i in range(count - 1):
            k8s.core.v1.ConfigMap(f"cm-{i}", metadata={"name": f"cm-{i}"}, data={"k": "v"}, opts=opts)

    return program


def _dependency_order(resources: list[Registration]) -> list[Registration]:
    """Registrations with every parent, provider and dependency before the resources that name it."""
    by_urn = {r.urn: r for r in resources}
    done: set[str] = set()
    out: list[Registration] = []

    def visit(r: Registration) -> None:
        stack = [(r, False)]
        while stack:
            node, expanded = stack.pop()
            if node.urn in done:
                continue
            if expanded:
                done.add(node.urn)
                out.append(node)
                continue
            stack.append((node, True))
            for ref in (node.parent, node.provider, *node.depends_on):
                if ref in by_urn and ref not in done:
                    stack.append((by_urn[ref], False))

    for r in resources:
        visit(r)
    return out


def replay_program(resources: list[Registration]) -> Callable[[], None]:
    """The fleet's recorded registrations again — same types, names, inputs, parents, providers and dependencies
    — with no project code in between: what the SDK costs for exactly this plan."""

    def program() -> None:
        import pulumi

        made: dict[str, pulumi.Resource] = {}
        for r in _dependency_order(resources):
            opts = pulumi.ResourceOptions(
                parent=made.get(r.parent),
                provider=made.get(r.provider),  # type: ignore[arg-type]
                depends_on=[made[d] for d in r.depends_on if d in made] or None,
                protect=r.protect,
                retain_on_delete=r.retain_on_delete,
            )
            if r.type.startswith("pulumi:providers:"):
                res: pulumi.Resource = pulumi.ProviderResource(
                    r.type.split(":")[2], r.name, copy.deepcopy(r.inputs), opts
                )
            elif r.custom:
                res = pulumi.CustomResource(r.type, r.name, copy.deepcopy(r.inputs), opts)
            elif r.type.startswith("inference-ra:"):  # the program's own components
                component = pulumi.ComponentResource(r.type, r.name, None, opts)
                component.register_outputs({})
                res = component
            else:  # remote components (helm.v4.Chart): one registration with inputs
                res = pulumi.ComponentResource(r.type, r.name, copy.deepcopy(r.inputs), opts, remote=True)
            made[r.urn] = res

    return program


def run_synth(nodes: int, pools: int, models: int, provider: str, charts: bool = True) -> Plan:
    return synth(fleet_stack_file(nodes, pools, models, provider=provider), render_charts=charts)


def run_synth_engine(nodes: int, pools: int, models: int, provider: str) -> Plan:
    """Synth without rendering charts: the engine and the program alone."""
    return run_synth(nodes, pools, models, provider, charts=False)


def run_synth_cold(nodes: int, pools: int, models: int, provider: str) -> tuple[float, float]:
    """(synth seconds, chart rendering seconds) with an empty render cache (a first run): Helm renders every chart
    twice (stacks/charts). Runs in the parent, not a forked child: the Helm SDK is Go, whose runtime does not
    survive fork without exec."""
    import tempfile

    previous = os.environ.get("INFERENCE_RA_CACHE_DIR")
    os.environ["INFERENCE_RA_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-charts-")
    try:
        start = time.perf_counter()
        plan = run_synth(nodes, pools, models, provider)
        return time.perf_counter() - start, plan.charts.seconds if plan.charts else 0.0
    finally:
        if previous is None:
            del os.environ["INFERENCE_RA_CACHE_DIR"]
        else:
            os.environ["INFERENCE_RA_CACHE_DIR"] = previous


def run_floor(count: int) -> int:
    return len(run_offline(floor_program(count), stack="floor"))


def run_replay(resources: list[Registration]) -> int:
    return len(run_offline(replay_program(resources), stack="replay"))


def rendered(plan: Plan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(Kubernetes objects, chart inputs) of a plan, as `inference-ra validate` sees them: the plan's objects and
    every object its charts render."""
    objects, charts = [], []
    for r in plan.resources:
        if r.type in CHART_TYPES:
            charts.append(r.inputs)
        elif r.type.startswith("kubernetes:") and "apiVersion" in r.inputs and "kind" in r.inputs:
            objects.append(r.inputs)
    for rendering in plan.charts.renderings if plan.charts else []:
        objects += [dict(o.obj) for o in rendering.objects]
    return objects, charts


def clear_validator_caches() -> None:
    from stacks import validate as v

    for fn in (v.core_validator, v._core_registry, v.cr_validator, v.crd_files, v.crd_schemas, v.chart_defaults):
        fn.cache_clear()


def validate_cached(objects: list[dict[str, Any]], charts: list[dict[str, Any]], k8s_version: str) -> int:
    """The project's validator from a cold in-process cache; returns the number of findings."""
    from stacks.validate import Validator, crd_index

    clear_validator_caches()
    validator = Validator(k8s_version, CRD_DIR, CHART_VALUES_DIR)
    stack_crds = crd_index([o for o in objects if o.get("kind") == "CustomResourceDefinition"])  # the charts' CRDs
    findings = sum(len(validator.validate_object(o, stack_crds)) for o in objects)
    return findings + sum(len(validator.validate_chart(c)) for c in charts)


def validate_uncached(objects: list[dict[str, Any]], charts: list[dict[str, Any]], k8s_version: str) -> int:
    """The naive way: kubernetes_validate.validate per core object (it loads and compiles its schema every call);
    per custom resource the CRD's served schema made strict and compiled again. Charts as the validator does."""
    import jsonschema
    import kubernetes_validate

    from components.k8s import is_builtin, split_api_version
    from stacks import validate as v

    clear_validator_caches()
    crd_dir = str(CRD_DIR.resolve())
    stack_crds = v.crd_index([o for o in objects if o.get("kind") == "CustomResourceDefinition"])
    findings = 0
    for obj in objects:
        if is_builtin(obj["apiVersion"]):
            try:
                kubernetes_validate.validate(obj, k8s_version, strict=True)
            except kubernetes_validate.ValidationError:
                findings += 1
        else:
            group, version = split_api_version(obj["apiVersion"])
            path = v.crd_files(crd_dir).get((group, obj["kind"]))
            schema = stack_crds.get((group, version, obj["kind"])) or (
                v.crd_schemas(path).get(version) if path else None
            )
            if schema is None:
                findings += 1
                continue
            strict = v.strictify(copy.deepcopy(schema))
            strict.setdefault("properties", {}).update(
                {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
            )
            findings += sum(1 for _ in jsonschema.Draft7Validator(strict).iter_errors(obj))
    validator = v.Validator(k8s_version, CRD_DIR, CHART_VALUES_DIR)
    return findings + sum(len(validator.validate_chart(c)) for c in charts)


# ------------------------------------------------------------------------------------------------ measurement
@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mib: float  # the measurement's own peak RSS above the parent's RSS at fork
    value: Any


def _status_mib(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _child(fn: Callable[..., Any], args: tuple[Any, ...], conn: Any) -> None:
    # A forked child inherits the parent's peak RSS: reset it (Linux clear_refs 5), so VmHWM is this run's own.
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")
    base = _status_mib("VmRSS")
    start = time.perf_counter()
    value = fn(*args)
    seconds = time.perf_counter() - start
    peak = _status_mib("VmHWM")
    conn.send((seconds, peak - base, value if isinstance(value, (int, float, str)) else None))
    conn.close()


def measure(fn: Callable[..., Any], *args: Any, repeat: int = 1) -> Measure:
    """Best of `repeat` runs, each in a forked child (own memory peak; the parent stays warm and small)."""
    ctx = multiprocessing.get_context("fork")
    best: Measure | None = None
    for _ in range(repeat):
        gc.collect()
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(fn, args, child))
        proc.start()
        child.close()
        seconds, peak, value = parent.recv()
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"{fn.__name__} failed in its child process (exit {proc.exitcode})")
        if best is None or seconds < best.seconds:
            best = Measure(seconds, max(peak, best.peak_mib if best else 0.0), value)
    assert best is not None
    return best


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1024, help="GPU nodes of the fleet (default 1024)")
    parser.add_argument("--pools", type=int, default=16, help="GPU pools (default 16)")
    parser.add_argument("--models", type=int, default=32, help="Dynamo models (default 32)")
    parser.add_argument("--provider", choices=("existing", "aws"), default="existing", help="bare metal or EKS")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement; the best counts (default 2)")
    parser.add_argument("--quick", action="store_true", help="a quarter of the fleet, one run each")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 2x fleet")
    args = parser.parse_args(argv)
    if args.quick:
        args.nodes, args.pools, args.models, args.repeat = args.nodes // 4, args.pools, args.models, 1
    size = (args.nodes, args.pools, args.models, args.provider)
    double = (args.nodes * 2, args.pools * 2, args.models * 2, args.provider)

    # warm up the parent: imports, catalogs, rule modules, SDK type tables (not part of any figure)
    run_synth(64, 4, 4, args.provider)
    plan = run_synth(*size)
    chart_objects = sum(len(c.objects) for c in plan.charts.renderings) if plan.charts else 0
    per_chart = ", ".join(f"{c.release} {len(c.objects)}" for c in plan.charts.renderings) if plan.charts else ""
    objects, charts = rendered(plan)
    k8s_version = plan.spec.cluster.kubernetes_version
    count = len(plan.resources)
    resources = plan.resources
    del plan
    gc.collect()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"fleet: {args.nodes} GPU nodes, {args.pools} pools, {args.models} models, provider {args.provider}: "
        f"{count} registrations, {len(objects) - chart_objects} Kubernetes objects, {len(charts)} charts rendering "
        f"{chart_objects} objects ({per_chart})"
    )
    s = measure(run_synth, *size, repeat=args.repeat)
    e = measure(run_synth_engine, *size, repeat=args.repeat)
    cold_synth, cold_render = run_synth_cold(*size)
    f = measure(run_floor, count, repeat=args.repeat)
    r = measure(run_replay, resources, repeat=args.repeat)
    print(f"(a) synth            {s.seconds:7.2f} s   peak +{s.peak_mib:6.0f} MiB   (charts rendered, warm cache)")
    print(f"    rendered column  {s.seconds - e.seconds:7.2f} s   (synth {e.seconds:.2f} s without rendering charts)")
    print(
        f"    cold cache       {cold_synth:7.2f} s   (empty render cache; {cold_render:.2f} s of it rendering charts)"
    )
    print(f"(b) SDK floor        {f.seconds:7.2f} s   peak +{f.peak_mib:6.0f} MiB   ({count} trivial registrations)")
    print(
        f"    SDK replay       {r.seconds:7.2f} s   peak +{r.peak_mib:6.0f} MiB   "
        "(the same registrations: inputs, parents, providers, dependsOn; no project code)"
    )
    ratio = e.seconds / f.seconds
    print(
        f"    synth / floor    {ratio:7.2f} x   "
        f"target <= {TARGET_SYNTH_OVER_FLOOR}: {_verdict(ratio <= TARGET_SYNTH_OVER_FLOOR)}   (engine, no charts; "
        f"with charts rendered: {s.seconds / f.seconds:.2f} x)"
    )
    print(
        f"    synth / replay   {e.seconds / r.seconds:7.2f} x   (project code over the SDK cost of exactly this plan)"
    )

    from stacks.charts.locate import chart_defaults, default_charts_dir

    for chart in charts:  # load each chart's defaults here: a forked child must not call into Helm's Go runtime
        chart_defaults(chart, default_charts_dir())
    cached = measure(validate_cached, objects, charts, k8s_version, repeat=args.repeat)
    uncached = measure(validate_uncached, objects, charts, k8s_version, repeat=1)
    speedup = uncached.seconds / cached.seconds
    print(f"(c) validate cached  {cached.seconds:7.2f} s   peak +{cached.peak_mib:6.0f} MiB   {cached.value} findings")
    print(
        f"    uncached         {uncached.seconds:7.2f} s   "
        f"peak +{uncached.peak_mib:6.0f} MiB   {uncached.value} findings"
    )
    print(
        f"    uncached/cached  {speedup:7.1f} x   target >= {TARGET_VALIDATION_SPEEDUP:.0f}: "
        f"{_verdict(speedup >= TARGET_VALIDATION_SPEEDUP)}"
    )

    if not args.no_scaling:
        s2 = measure(run_synth, *double, repeat=args.repeat)
        count2 = len(run_synth(*double).resources)
        f2 = measure(run_floor, count2, repeat=args.repeat)
        scale = s2.seconds / s.seconds
        print(
            f"2x fleet: {double[0]} nodes, {double[1]} pools, {double[2]} models: {count2} registrations "
            f"({count2 / count:.2f}x)"
        )
        print(f"    synth(2N)        {s2.seconds:7.2f} s   peak +{s2.peak_mib:6.0f} MiB")
        print(f"    floor(2N)        {f2.seconds:7.2f} s   floor(2N)/floor(N) {f2.seconds / f.seconds:.2f}x")
        print(
            f"    synth(2N)/synth(N) {scale:5.2f} x   target <= {TARGET_SCALING}: {_verdict(scale <= TARGET_SCALING)}"
        )
        print(f"    synth(2N)/floor(2N) {s2.seconds / f2.seconds:4.2f} x")
    print(f"peak RSS of the parent (holds the rendered fleet): {_status_mib('VmHWM'):.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
