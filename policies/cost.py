"""Cost rule: the stack's worst-case hourly compute cost (node catalog price x max nodes) stays under a cap.

Capacity the stack creates is read from its resources: EKS managed node groups and Auto Scaling groups
(`scalingConfig.maxSize` / `maxSize`, instance type from `instanceTypes` or the launch template they reference).
GPU node types are priced from the node catalog (`pricesUsd` adds others); CPU system nodes outside the catalog
are left out of the cap, as in the report's capacity table. Capacity the stack only uses (an existing cluster's
bare-metal pools) is not a resource: for it the rule prices the declared pools (`declaredPools`, filled from the
stack's gpuPools), but only when the plan creates no node groups.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.catalog import NODE_TYPES
from policies.registry import UNKNOWN, Resource, RuleContext, stack_rule
from policies.workloads import mapping

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ASG = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


@dataclass(frozen=True)
class Capacity:
    name: str
    node_type: str
    max_nodes: int
    price: float | None  # $/hour per node; None = not in the catalog nor in pricesUsd

    @property
    def hourly(self) -> float:
        return (self.price or 0.0) * self.max_nodes


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _price(node_type: str, extra: Mapping[str, Any]) -> float | None:
    if node_type in extra:
        return float(extra[node_type])
    nt = NODE_TYPES.get(node_type)
    return nt.price_per_hour_usd if nt else None


def capacities(resources: Sequence[Resource], config: Mapping[str, Any]) -> list[Capacity]:
    """Worst-case capacity of the stack, priced."""
    extra = config.get("pricesUsd") or {}
    by_urn = {r.urn: r for r in resources if r.urn}
    out: list[Capacity] = []
    for r in resources:
        if r.type == NODE_GROUP:
            max_nodes = _int(mapping(r.props, "scalingConfig").get("maxSize"))
            types = [str(t) for t in (r.props.get("instanceTypes") or []) if t != UNKNOWN]
        elif r.type == ASG:
            max_nodes = _int(r.props.get("maxSize"))
            types = []
        else:
            continue
        if not types:  # the launch template the group references (a dependency, in plan.json and CrossGuard)
            lts = [by_urn[d] for d in r.depends_on if d in by_urn and by_urn[d].type == LAUNCH_TEMPLATE]
            types = [str(lt.props["instanceType"]) for lt in lts if lt.props.get("instanceType")]
        if not types:
            out.append(Capacity(r.name, "?", max_nodes, None))
            continue
        priced = [(t, _price(t, extra)) for t in types]
        node_type, price = max(priced, key=lambda tp: tp[1] or 0.0)  # a mixed group may scale out on the priciest
        out.append(Capacity(r.name, node_type, max_nodes, price))
    if not out:
        for pool in config.get("declaredPools") or []:
            node_type = str(pool.get("nodeType"))
            out.append(Capacity(str(pool.get("name")), node_type, _int(pool.get("maxNodes")), _price(node_type, extra)))
    return out


@stack_rule(
    "cost-cap",
    "The stack's worst-case compute cost (catalog $/hour x max nodes of every pool) stays under the cap "
    "(policy.maxHourlyCostUsd).",
    level="mandatory",
    severity="high",
    config={
        "maxHourlyCostUsd": {
            "type": ["number", "null"],
            "default": None,
            "description": "Cap in $/hour (the stack's policy.maxHourlyCostUsd); null = no cap.",
        },
        "declaredPools": {
            "type": "array",
            "default": [],
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "nodeType": {"type": "string"},
                    "maxNodes": {"type": "integer", "minimum": 0},
                },
                "required": ["name", "nodeType", "maxNodes"],
                "additionalProperties": False,
            },
            "description": "Pools not created as cloud resources (existing clusters), filled from gpuPools.",
        },
        "pricesUsd": {
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0},
            "default": {},
            "description": "$/hour of node types missing from the node catalog (e.g. CPU system nodes).",
        },
    },
    remediation="Lower nodes.max of the largest pools, or raise policy.maxHourlyCostUsd with the budget owner.",
)
def cost_cap(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    cap = ctx.config.get("maxHourlyCostUsd")
    if cap is None:
        return
    caps = capacities(resources, ctx.config)
    total = sum(c.hourly for c in caps)
    if total > float(cap):
        parts = ", ".join(
            f"{c.name} {c.max_nodes}x {c.node_type} ${c.hourly:,.2f}" for c in sorted(caps, key=lambda c: -c.hourly)
        )
        yield None, f"worst-case cost ${total:,.2f}/hour exceeds the cap ${float(cap):,.2f}/hour ({parts})"
    unpriced = sorted({c.node_type for c in caps if c.price is None and _accelerated(c.node_type)})
    if unpriced:
        yield (
            None,
            (
                f"cannot price GPU node types {', '.join(unpriced)} (not in the node catalog); add them to the catalog "
                "or to policy.config.cost-cap.pricesUsd so the cap covers them"
            ),
        )


def _accelerated(node_type: str) -> bool:
    """Unknown types that are GPU capacity (EC2 p*/g* families, or no type at all) must be priced; CPU system
    nodes outside the catalog are left out of the cap like the report's capacity table leaves them out."""
    family = node_type.split(".")[0]
    return node_type == "?" or (family[:1] in ("p", "g") and family[1:2].isdigit())
