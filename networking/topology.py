"""Topology for topology-aware scheduling: node labels (rack, NVLink domain, rail group), a KAI `Topology` and a
Grove `ClusterTopologyBinding` over the same levels.

Levels run from broadest to narrowest: rail group (Grove's `block`: a scalable unit, nodes one switch hop apart on
every rail), NVLink domain (a GB200 NVL72 domain is one rack, an NVL36x2 domain two), rack, host. Nodes without a
level's label (an HGX node has no clique) can still be placed by constraints on the other levels.
Schemas: KAI Scheduler v0.17.0 (kai.scheduler/v1alpha1 Topology), Grove v0.1.0-alpha.11
(grove.io/v1alpha1 ClusterTopologyBinding).
"""

from __future__ import annotations

from typing import Any

from components import k8s as kobj
from components.spec import StackSpec

TOPOLOGY_NAME = "inference-ra"
HOST_LABEL = "kubernetes.io/hostname"
KAI_SCHEDULER_NAME = "kai-scheduler"


def levels(spec: StackSpec) -> list[tuple[str, str]]:
    """(domain, node label) from broadest to narrowest."""
    t = spec.network.topology
    return [
        ("block", t.rail_group_label),
        ("nvlink-domain", t.nvlink_domain_label),
        ("rack", t.rack_label),
        ("host", HOST_LABEL),
    ]


def node_label_patches(spec: StackSpec) -> list[kobj.Manifest]:
    """Labels of the nodes listed in network.topology.nodes (applied as server-side-apply patches)."""
    t = spec.network.topology
    out = []
    for node, topo in sorted(t.nodes.items()):
        labels = {
            key: value
            for key, value in (
                (t.rack_label, topo.rack),
                (t.nvlink_domain_label, topo.nvlink_domain),
                (t.rail_group_label, topo.rail_group),
            )
            if value
        }
        if labels:
            out.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": labels}})
    return out


def kai_topology(spec: StackSpec) -> kobj.Manifest:
    return {
        "apiVersion": "kai.scheduler/v1alpha1",
        "kind": "Topology",
        "metadata": kobj.metadata(TOPOLOGY_NAME),
        "spec": {"levels": [{"nodeLabel": label, "alias": domain} for domain, label in levels(spec)]},
    }


def grove_binding(spec: StackSpec, *, kai: bool) -> kobj.Manifest:
    """Grove's topology; with KAI it binds to our KAI Topology (Grove then only checks it for drift)."""
    body: dict[str, Any] = {"levels": [{"domain": domain, "key": label} for domain, label in levels(spec)]}
    if kai:
        body["schedulerTopologyBindings"] = [{"schedulerName": KAI_SCHEDULER_NAME, "topologyReference": TOPOLOGY_NAME}]
    return {
        "apiVersion": "grove.io/v1alpha1",
        "kind": "ClusterTopologyBinding",
        "metadata": kobj.metadata(TOPOLOGY_NAME),
        "spec": body,
    }


def topology_manifests(spec: StackSpec) -> list[kobj.Manifest]:
    """Scheduler topology objects for the schedulers this stack runs (their CRDs come with Grove / KAI)."""
    if not spec.network.topology.enabled:
        return []
    dynamo = spec.serving.dynamo
    out = []
    if dynamo.kai_scheduler:
        out.append(kai_topology(spec))
    if dynamo.grove:
        out.append(grove_binding(spec, kai=dynamo.kai_scheduler))
    return out
