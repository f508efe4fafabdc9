"""The `scheduling` layer: the KAI Scheduler and Grove charts and their topology objects.

It runs before `tenancy` (whose KAI Queues need KAI's CRDs) and `serving` (whose graphs Grove gang-schedules), so
every custom resource of these schedulers is created after the chart that brings its CRD.
Returns `SchedulingOutputs` (the chart resources); applies the fabric layer's scheduler topology objects
(`ctx.fabric.scheduler_topology`) after the charts.
"""

from __future__ import annotations

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.context import PlatformContext
from components.layering import StackRefs
from components.outputs import SchedulingOutputs
from serving import platform


def build(ctx: PlatformContext, parent: pulumi.Resource) -> SchedulingOutputs:
    spec = ctx.spec
    dynamo = spec.serving.dynamo
    if not spec.serving.models:
        return SchedulingOutputs()
    charts: list[pulumi.Resource] = []
    kai: pulumi.Resource | None = None
    grove: pulumi.Resource | None = None
    if dynamo.kai_scheduler:
        reservation_sa = platform.kai_reservation_service_account()
        reservation = [kobj.apply(reservation_sa, ctx.k8s_opts(parent, namespace=platform.KAI_RESERVATION))]
        kai = kobj.chart(
            "kai-scheduler",
            chart_ref=CHARTS["kai-scheduler"],
            namespace=platform.KAI_NAMESPACE,
            values=platform.kai_values(),
            opts=ctx.k8s_opts(parent, depends_on=reservation, namespace=platform.KAI_NAMESPACE),
        )
        charts.append(kai)
    if dynamo.grove:
        grove = kobj.chart(
            "grove",
            chart_ref=CHARTS["grove"],
            namespace=platform.GROVE_NAMESPACE,
            values=platform.grove_values(spec),
            opts=ctx.k8s_opts(parent, namespace=platform.GROVE_NAMESPACE),
        )
        charts.append(grove)
    # KAI Topology / Grove ClusterTopologyBinding (network.topology) need those charts' CRDs
    for manifest in ctx.fabric.scheduler_topology:
        kobj.apply(manifest, ctx.k8s_opts(parent, depends_on=charts))
    return SchedulingOutputs(kai_scheduler=kai, grove=grove)


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> SchedulingOutputs:
    """In a later layer stack: the KAI / Grove charts are in the platform stack, up before it."""
    return SchedulingOutputs()
