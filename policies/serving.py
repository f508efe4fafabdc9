"""Serving rules: disaggregated and multinode Dynamo workers carry RDMA resources; every graph has a PDB."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.registry import Resource, RuleContext, resource_rule, stack_rule
from policies.workloads import DGD_KIND, kind_of, mapping, name_of, namespace_of, pods

GRAPH_LABEL = "nvidia.com/dynamo-graph-deployment-name"  # the label the Dynamo operator puts on a graph's pods
DISAGG_ROLES = {"prefill", "decode"}
DISAGG_ARGS = ("--disaggregation-mode", "--is-prefill-worker", "--is-decode-worker")


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


@resource_rule(
    "rdma-for-disaggregated",
    "Disaggregated (prefill/decode) and multinode Dynamo workers request RDMA devices (EFA or RDMA rails).",
    level="mandatory",
    severity="high",
    config={
        "rdmaResourcePrefixes": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["vpc.amazonaws.com/efa", "rdma/", "nvidia.com/rdma", "nvidia.com/sriov"],
            "description": "Extended resources that give a pod RDMA devices (EFA, RDMA shared device plugin, SR-IOV).",
        }
    },
    remediation="Run disaggregated or multinode graphs on an RDMA fabric (network.fabric efa | infiniband | roce); "
    "the serving layer adds the fabric profile's resources (networking/profile.py) to the worker limits.",
)
def rdma_for_disaggregated(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    if kind_of(resource_type, props) != DGD_KIND:
        return
    prefixes = [str(p) for p in ctx.config.get("rdmaResourcePrefixes", [])]
    for pod in pods(resource_type, props):
        disagg = pod.role in DISAGG_ROLES or any(a in DISAGG_ARGS for a in pod.args)
        multinode = pod.node_count > 1
        if not (disagg or multinode):
            continue
        why = " and ".join(w for w, on in (("disaggregated", disagg), ("multinode", multinode)) if on)
        main = next((c for c in pod.containers if c.name == "main"), None) or (
            pod.containers[0] if pod.containers else None
        )
        have = set(main.resources("limits")) if main else set()
        if not any(r.startswith(p) for r in have for p in prefixes):
            yield (
                f"{why} worker ({pod.path}) requests no RDMA resource ({', '.join(prefixes)}): KV transfer and "
                "collectives would fall back to TCP"
            )


def _pdb_graphs(props: Mapping[str, Any]) -> tuple[set[str], bool]:
    """Graph names a PDB selects (by the operator's graph label) and whether it allows any disruption."""
    spec = mapping(props, "spec")
    sel = mapping(spec, "selector")
    graphs: set[str] = set()
    labels = sel.get("matchLabels")
    if isinstance(labels, Mapping) and labels.get(GRAPH_LABEL):
        graphs.add(str(labels[GRAPH_LABEL]))
    for expr in _seq(sel.get("matchExpressions")):
        if isinstance(expr, Mapping) and expr.get("key") == GRAPH_LABEL and expr.get("operator") == "In":
            graphs.update(str(v) for v in _seq(expr.get("values")))
    blocks = spec.get("maxUnavailable") in (0, "0", "0%") or spec.get("minAvailable") == "100%"
    return graphs, not blocks


@stack_rule(
    "pdb-per-graph",
    "Every Dynamo graph has a PodDisruptionBudget selecting its pods, and the budget allows some disruption.",
    level="advisory",
    severity="medium",
    remediation=f"Add a PodDisruptionBudget in the graph's namespace with selector.matchLabels {{{GRAPH_LABEL}: "
    "<graph>}} (plus the component label for per-component budgets) and maxUnavailable >= 1.",
)
def pdb_per_graph(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    covered: dict[tuple[str, str], bool] = {}
    for r in resources:
        if kind_of(r.type, r.props) == "PodDisruptionBudget":
            graphs, disruptable = _pdb_graphs(r.props)
            ns = namespace_of(r.props)
            for g in graphs:
                covered[(ns, g)] = covered.get((ns, g), False) or disruptable
                if not disruptable:
                    yield (
                        r.urn or None,
                        (
                            f"PodDisruptionBudget {ns}/{name_of(r.props)} allows no disruption: node drains of "
                            f"graph {g!r} would block forever; use maxUnavailable >= 1"
                        ),
                    )
    for r in resources:
        if kind_of(r.type, r.props) != DGD_KIND:
            continue
        key = (namespace_of(r.props), name_of(r.props))
        if key not in covered:
            yield (
                r.urn or None,
                (f"graph {key[0]}/{key[1]} has no PodDisruptionBudget selecting {GRAPH_LABEL}={key[1]}"),
            )
