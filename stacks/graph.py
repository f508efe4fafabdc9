"""`inference-ra graph`: a picture of the stack's architecture drawn from its plan.

One row per RA layer (in platform order), one box per architectural element (pools, charts, filesystems, graphs,
queues...), repeated objects collapsed to "N x Kind", arrows for dependencies between elements. Rendered with
matplotlib (no Graphviz binary needed) to SVG and PNG, deterministically (fixed SVG hash salt, no timestamps).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.charts import CHART_TYPES
from stacks.report import layer_of

LAYER_ORDER = (
    "network", "cluster", "compute", "fabric", "storage", "acceptance", "observability", "scheduling", "tenancy",
    "optimization", "serving", "autoscaling", "triton", "performance",
)  # fmt: skip
# Kinds and types that are plumbing, not architecture: left out of the picture.
_SKIP_KINDS = frozenset({
    "Namespace", "Secret", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
    "NetworkPolicy", "ResourceQuota", "PodDisruptionBudget", "Service", "StorageClass", "PersistentVolume",
    "PrometheusRule", "PodMonitor", "ServiceMonitor", "IPPool",
})  # fmt: skip
_SKIP_TYPES = (
    "pulumi:providers:", "aws:iam/", "aws:kms/", "aws:ec2/routeTable", "aws:ec2/route:", "aws:ec2/securityGroup",
    "aws:vpc/securityGroup", "aws:ec2/eip", "aws:ec2/internetGateway", "aws:ec2/subnet", "aws:ec2/vpcEndpoint",
    "aws:ec2/natGateway", "aws:ec2/launchTemplate", "aws:ec2/placementGroup", "aws:eks/addon",
    "aws:eks/accessPolicyAssociation", "aws:eks/accessEntry", "aws:eks/podIdentityAssociation", "aws:s3/bucketPublic",
    "aws:s3/bucketVersioning", "aws:s3/bucketServerSideEncryption", "aws:s3/bucketOwnershipControls",
    "aws:s3/bucketPolicy", "aws:fsx/dataRepositoryAssociation",
)  # fmt: skip
MAX_LABEL = 30
COLLAPSE_OVER = 3


@dataclass
class Node:
    key: str
    layer: str
    label: str
    urns: list[str] = field(default_factory=list)


def _kind_and_name(r: dict[str, Any]) -> tuple[str, str]:
    inputs = r.get("inputs") or {}
    if r["type"] in CHART_TYPES:
        chart = str(inputs.get("chart", r["name"])).rsplit("/", 1)[-1].removesuffix(".tgz")
        return "Chart", f"{chart} {inputs.get('version', '')}".strip()
    if "kind" in inputs:
        return str(inputs["kind"]), str((inputs.get("metadata") or {}).get("name", r["name"]))
    return r["type"].rsplit(":", 1)[-1], r["name"]


def _short(name: str) -> str:
    name = name.rsplit("/", 1)[-1]
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def architecture_nodes(plan: dict[str, Any]) -> tuple[list[Node], set[tuple[str, str]]]:
    """The picture's boxes (by layer, collapsed) and arrows (dependent -> dependency) from a plan."""
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)  # (layer, kind) -> [(name, urn)]
    for r in plan["resources"]:
        t = r["type"]
        if t.startswith("inference-ra:") or t.startswith(_SKIP_TYPES):
            continue
        kind, name = _kind_and_name(r)
        if kind in _SKIP_KINDS:
            continue
        grouped[(layer_of(r["urn"]), kind)].append((name, r["urn"]))
    nodes: list[Node] = []
    for (layer, kind), items in sorted(grouped.items()):
        if len(items) > COLLAPSE_OVER:
            nodes.append(Node(f"{layer}/{kind}", layer, f"{len(items)} x {kind}", [u for _, u in items]))
        else:
            nodes += [Node(f"{layer}/{kind}/{n}", layer, f"{kind}\n{_short(n)}", [u]) for n, u in sorted(items)]
    owner = {u: n.key for n in nodes for u in n.urns}
    edges: set[tuple[str, str]] = set()
    for r in plan["resources"]:
        src = owner.get(r["urn"])
        for dep in r.get("dependsOn") or []:
            dst = owner.get(dep)
            # dependencies across layers only: within a row they would cross the boxes
            if src and dst and src != dst and src.split("/")[0] != dst.split("/")[0]:
                edges.add((src, dst))
    return nodes, edges


def render(plan: dict[str, Any], out_dir: Path, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    matplotlib.rcParams["svg.hashsalt"] = "inference-ra"
    nodes, edges = architecture_nodes(plan)
    layers = [la for la in LAYER_ORDER if any(n.layer == la for n in nodes)]
    layers += sorted({n.layer for n in nodes} - set(layers))
    width = max([sum(1 for n in nodes if n.layer == la) for la in layers] + [1])
    fig_w, fig_h = max(10.0, 2.3 * width + 2.5), 1.25 * len(layers) + 1.2
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    ax.set_xlim(0, fig_w)
    ax.set_ylim(0, fig_h)
    ax.axis("off")
    palette = ["#76b900", "#1a73e8", "#f29900", "#9334e6", "#12b5cb", "#e8710a", "#d01884", "#5f6368"]
    pos: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        y = fig_h - 1.1 - row * 1.25
        color = palette[row % len(palette)]
        ax.text(0.15, y, layer, fontsize=10, fontweight="bold", va="center", color=color)
        row_nodes = [n for n in nodes if n.layer == layer]
        span = fig_w - 2.2
        for i, node in enumerate(row_nodes):
            x = 1.9 + span * (i + 0.5) / len(row_nodes)
            pos[node.key] = (x, y)
            ax.add_patch(
                FancyBboxPatch(
                    (x - 1.0, y - 0.36),
                    2.0,
                    0.72,
                    boxstyle="round,pad=0.02",
                    linewidth=1.2,
                    edgecolor=color,
                    facecolor="white",
                    zorder=2,
                )
            )
            ax.text(x, y, node.label, fontsize=7, ha="center", va="center", zorder=3, wrap=True)
    for src, dst in sorted(edges):
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        start = (x1, y1 + (0.36 if y2 > y1 else -0.36))
        end, style = (x2, y2 + (-0.36 if y2 > y1 else 0.36)), "arc3,rad=0.0"
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=8,
                color="#9aa0a6",
                linewidth=0.7,
                connectionstyle=style,
                zorder=1,
            )
        )
    ax.text(fig_w / 2, fig_h - 0.35, title, fontsize=12, ha="center", va="center", fontweight="bold")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"architecture-{plan.get('stack', 'stack')}"
    paths = [out_dir / f"{stem}.svg", out_dir / f"{stem}.png"]
    fig.savefig(paths[0], format="svg", metadata={"Date": None})
    fig.savefig(paths[1], format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return paths
