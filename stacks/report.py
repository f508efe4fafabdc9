"""report.md: what a reviewer reads first — resources per layer, GPUs and nodes, cost, and the extra sections
other layers contribute (planner estimates, policy results) through `SECTIONS`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from stacks.engine import Plan

Section = Callable[[Plan], str]
# Extra sections, in order; layers append theirs (planner, policy).
SECTIONS: list[Section] = []


def layer_of(urn: str) -> str:
    """The RA layer of a resource: the `inference-ra:<layer>:` component in its URN's type chain."""
    chain = urn.split("::")[2].split("$")
    for t in chain[1:]:
        if t.startswith("inference-ra:"):
            return t.split(":")[1]
    return "platform"


def resources_section(plan: Plan) -> str:
    counts = Counter(layer_of(r.urn) for r in plan.resources if r.custom)
    lines = ["## Resources per layer", "", "| layer | resources |", "|---|---:|"]
    lines += [f"| {layer} | {n} |" for layer, n in sorted(counts.items())]
    lines.append(f"| **total** | **{sum(counts.values())}** |")
    return "\n".join(lines)


def capacity_section(plan: Plan) -> str:
    from components.catalog.prices import PriceBook

    spec = plan.spec
    prices = PriceBook.for_spec(spec)
    lines = [
        "## GPU capacity and cost",
        "",
        "| pool | node type | GPU | nodes (min-max) | GPUs (min-max) | $/hour (min-max) |",
        "|---|---|---|---|---|---|",
    ]
    tot = [0, 0, 0.0, 0.0]
    for pool in spec.gpu_pools:
        nt = spec.node_type(pool)
        if nt is None:
            continue
        n0, n1 = pool.nodes.min, pool.nodes.max
        c0, c1 = n0 * prices.node_hour_usd(nt.key), n1 * prices.node_hour_usd(nt.key)
        tot = [tot[0] + n0 * nt.gpus, tot[1] + n1 * nt.gpus, tot[2] + c0, tot[3] + c1]
        lines.append(
            f"| {pool.name} | {nt.key} | {nt.gpu} | {n0}-{n1} | {n0 * nt.gpus}-{n1 * nt.gpus} | {c0:,.2f}-{c1:,.2f} |"
        )
    lines.append(f"| **total** | | | | **{tot[0]}-{tot[1]}** | **{tot[2]:,.2f}-{tot[3]:,.2f}** |")
    lines += ["", "Prices: components/catalog/prices.py with `policy.prices` overrides; compute only."]
    if spec.cluster.provider == "aws":
        lines[-1] += " " + prices.region_note(plan.region)
    return "\n".join(lines)


_TOTAL_ROW = re.compile(r"^\| \*\*total\*\* \|.*\| \*\*(\d+)-(\d+)\*\* \| \*\*([\d,.]+)-([\d,.]+)\*\* \|$", re.M)


@dataclass(frozen=True)
class CapacityTotals:
    gpus_min: int
    gpus_max: int
    cost_min: float
    cost_max: float


def parse_capacity_totals(report_md: str) -> CapacityTotals | None:
    """The totals row of `capacity_section`, read back from a report.md (used by `diff` on plan directories)."""
    m = _TOTAL_ROW.search(report_md)
    if not m:
        return None
    return CapacityTotals(
        int(m.group(1)), int(m.group(2)), float(m.group(3).replace(",", "")), float(m.group(4).replace(",", ""))
    )


def render_report(plan: Plan) -> str:
    spec = plan.spec
    head = [
        f"# inference-ra plan: `{plan.stack}`",
        "",
        f"Cluster `{spec.cluster.name}` ({spec.cluster.provider}, Kubernetes {spec.cluster.kubernetes_version}), "
        f"fabric `{spec.network.fabric.type}`, {len(spec.gpu_pools)} GPU pool(s), "
        f"{len(spec.serving.models)} model(s).",
    ]
    from stacks.charts.report import charts_section

    parts = ["\n".join(head), resources_section(plan), capacity_section(plan), charts_section(plan)]
    parts += [s(plan) for s in SECTIONS]
    return "\n\n".join(p for p in parts if p) + "\n"


def _register_sections() -> None:
    from policies.report import policy_section
    from serving.planner.report import planner_section

    SECTIONS.extend([policy_section, planner_section])


_register_sections()
