"""Layered stacks: one spec deployed as three stacks — infra, platform, serving — or as one (docs/layers.md).

Each program layer (components/platform.py LAYERS; only the program imports the composition, so this module reads
the layer list through the hand-off analysis) belongs to exactly one layer stack, in program order, so a stack
only reads outputs of stacks before it. What a stack reads from an earlier one is the StackReference contract:
`crossings()` derives it from the hand-off analysis (stacks/handoffs.py), the same source as the layer table, so
it cannot drift from the code.

`split_plan` cuts a synthesized plan to one layer stack (`inference-ra synth --layer`): the spec is validated whole
(every cross-layer rule still runs), the program runs whole, and the plan keeps the resources of that stack's
layers, the providers they use and the platform component; dependencies on resources of other stacks are removed
from `dependsOn` (the earlier stack is up before this one starts) and listed in `cross_stack`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from components.layering import LAYER_STACK, LAYER_STACKS
from stacks.engine import Plan, Registration

# the assignment lives with the program that runs it (components/layering.py); re-exported for the offline tools
__all__ = ["LAYER_STACK", "LAYER_STACKS"]


class LayerError(Exception):
    """An unknown layer stack; one line, exit 2."""


def stack_of(layer: str) -> str:
    """The layer stack of a program layer; the platform's own resources (providers, the root component) go with
    infra, which creates them first."""
    return LAYER_STACK.get(layer, "infra")


def layers_of(stack: str) -> tuple[str, ...]:
    if stack not in LAYER_STACKS:
        raise LayerError(f"--layer must be one of {', '.join(LAYER_STACKS)} (got {stack!r})")
    return tuple(name for name, owner in LAYER_STACK.items() if owner == stack)


def layer_of_urn(urn: str) -> str:
    """The program layer of a resource (the `inference-ra:<layer>:` component right under the platform)."""
    chain = urn.split("::")[2].split("$") if urn.count("::") >= 3 else []
    if len(chain) >= 2 and chain[1].startswith("inference-ra:"):
        return chain[1].split(":")[1]
    return ""


def stack_of_urn(urn: str) -> str:
    return stack_of(layer_of_urn(urn))


@dataclass(frozen=True)
class Crossing:
    """One hand-off field a layer stack reads from an earlier one: an output of the earlier stack that the later
    one takes through its StackReference."""

    consumer: str  # layer stack that reads
    producer: str  # layer stack that exports
    reader: str  # program layer that reads
    field: str  # Outputs class and field, e.g. ClusterOutputs.k8s_provider
    # value (plain data, recomputed from the spec) | output (a cloud value known once the producer is up: crosses as
    # a StackReference output) | resource (a Pulumi resource: only its identity crosses, ordering is by stack)
    kind: str


def crossings() -> list[Crossing]:
    """Every hand-off field read across a layer-stack boundary, from the source (stacks/handoffs.py)."""
    from stacks.handoffs import analyze

    h = analyze()
    out: set[Crossing] = set()
    for layer, reads in h.layer_reads.items():
        for cls, fname in reads:
            producer_layer = h.producer(cls)
            if producer_layer is None:
                continue
            consumer, producer = stack_of(layer), stack_of(producer_layer)
            if consumer == producer:
                continue
            if fname == "*":  # the whole outputs object passed on: its fields' reads are listed one by one
                continue
            kind = _kind(_annotation(cls, fname))
            out.add(Crossing(consumer, producer, layer, f"{cls}.{fname}", kind))
    return sorted(out, key=lambda c: (LAYER_STACKS.index(c.consumer), c.producer, c.field, c.reader))


def order_problems() -> list[str]:
    """A layer stack that reads from a later one (the split would not deploy in order)."""
    rank = {s: i for i, s in enumerate(LAYER_STACKS)}
    problems = [
        f"layer `{c.reader}` ({c.consumer}) reads {c.field} from {c.producer}, which is deployed after it"
        for c in crossings()
        if rank[c.producer] > rank[c.consumer]
    ]
    from stacks.handoffs import analyze

    listed = [name for name, _, _ in analyze().layers]  # components/platform.py LAYERS, read from its source
    problems += [f"program layer `{n}` has no layer stack" for n in listed if n not in LAYER_STACK]
    problems += [f"LAYER_STACK names `{n}`, which is not a program layer" for n in LAYER_STACK if n not in listed]
    return problems


def _kind(annotation: str) -> str:
    if "Resource" in annotation:
        return "resource"
    return "output" if annotation.startswith("pulumi.Output[") else "value"


def _annotation(cls: str, fname: str) -> str:
    """The declared type of an outputs field, as written in components/outputs.py."""
    import dataclasses as dc

    from components import outputs

    kind = getattr(outputs, cls, None)
    if kind is None or not dc.is_dataclass(kind):
        return ""
    return next((str(f.type) for f in dc.fields(kind) if f.name == fname), "")


@dataclass(frozen=True)
class LayerPlan:
    plan: Plan
    layer: str
    cross_stack: tuple[tuple[str, str], ...]  # (resource urn, dependency urn in an earlier stack)


def split_plan(plan: Plan, layer: str) -> LayerPlan:
    """The part of a whole-program plan one layer stack deploys (module docstring)."""
    layers = set(layers_of(layer))
    by_urn = {r.urn: r for r in plan.resources}
    keep = {r.urn for r in plan.resources if layer_of_urn(r.urn) in layers}
    providers = {_provider_urn(by_urn[u].provider) for u in keep if by_urn[u].provider}
    root = {r.urn for r in plan.resources if r.type == "inference-ra:index:InferencePlatform"}
    kept: list[Registration] = []
    cross: list[tuple[str, str]] = []
    for r in plan.resources:
        if r.urn not in keep | providers | root:
            continue
        deps = [d for d in r.depends_on if d in keep or d in providers]
        cross += [(r.urn, d) for d in r.depends_on if d not in deps]
        kept.append(dataclasses.replace(r, depends_on=deps))
    charts = plan.charts
    if charts is not None:
        charts = dataclasses.replace(
            charts,
            renderings=[c for c in charts.renderings if c.urn in keep],
            skipped={u: why for u, why in charts.skipped.items() if u in keep},
            written={u: w for u, w in charts.written.items() if u in keep},
        )
    out = Plan(plan.project, f"{plan.stack}-{layer}", plan.spec, kept, charts)
    return LayerPlan(out, layer, tuple(sorted(cross)))


def _provider_urn(ref: str) -> str:
    """A provider reference is `<urn>::<id>`; the URN is everything before the last `::`."""
    return ref.rsplit("::", 1)[0] if ref.count("::") > 3 else ref


def lands_in(changes: list[Any]) -> dict[str, int]:
    """How many of a diff's resource changes land in each layer stack (stacks/diff.py ResourceChange)."""
    counts = {s: 0 for s in LAYER_STACKS}
    for c in changes:
        counts[stack_of(c.layer)] += 1  # stacks/report.py calls the platform's own resources "platform": infra
    return {s: n for s, n in counts.items() if n}
