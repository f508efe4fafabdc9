"""The `scheduling` layer: the KAI Scheduler and Grove charts and their topology objects.

It runs before `tenancy` (whose KAI Queues need KAI's CRDs) and `serving` (whose graphs Grove gang-schedules), so
every custom resource of these schedulers is created after the chart that brings its CRD.
Sets handles `kai_scheduler` and `grove` (the chart resources).
"""

from __future__ import annotations

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.platform import PlatformContext
from networking.topology import topology_manifests
from serving import platform


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    spec = ctx.spec
    dynamo = spec.serving.dynamo
    if not spec.serving.models:
        return
    charts: list[pulumi.Resource] = []
    if dynamo.kai_scheduler:
        ns_obj, sa_obj = platform.kai_reservation_objects()
        reservation_ns = kobj.apply(ns_obj, ctx.k8s_opts(parent))
        reservation = [reservation_ns, kobj.apply(sa_obj, ctx.k8s_opts(parent, depends_on=[reservation_ns]))]
        kai = kobj.chart(
            "kai-scheduler",
            chart_ref=CHARTS["kai-scheduler"],
            namespace=platform.KAI_NAMESPACE,
            values=platform.kai_values(),
            opts=ctx.k8s_opts(parent, depends_on=reservation, namespace=platform.KAI_NAMESPACE),
        )
        ctx.handles["kai_scheduler"] = kai
        charts.append(kai)
    if dynamo.grove:
        grove = kobj.chart(
            "grove",
            chart_ref=CHARTS["grove"],
            namespace=platform.GROVE_NAMESPACE,
            values=platform.grove_values(spec),
            opts=ctx.k8s_opts(parent, namespace=platform.GROVE_NAMESPACE),
        )
        ctx.handles["grove"] = grove
        charts.append(grove)
    # KAI Topology / Grove ClusterTopologyBinding (network.topology) need those charts' CRDs
    for manifest in topology_manifests(spec):
        kobj.apply(manifest, ctx.k8s_opts(parent, depends_on=charts))
