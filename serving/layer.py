"""The `serving` layer: the Dynamo platform chart of the release `serving.dynamo.version` selects, then per model
its DynamoGraphDeployment and PodDisruptionBudgets (with the Inference Gateway option the operator creates the
InferencePool `<graph>-pool` itself).

Reads (components/outputs.py): the model cache claims, prefetch Jobs, token Secrets and KV disk StorageClasses
(storage), the fabric profiles (fabric), acceptance gates and their node selectors (acceptance), the ComputeDomain
channel templates of GB200 pools (compute), the Prometheus URL and chart (observability), the KAI / Grove charts
(scheduling) and the optimization Jobs (optimization). Returns `ServingOutputs`: {model: DGD resource}, the scaled
components and the served model names, for KEDA and the benchmarks.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import k8s as kobj
from components.context import PlatformContext
from components.namespaces import model_namespace
from components.outputs import ServingOutputs
from serving import engines, graphs, platform


def _deps(ctx: PlatformContext, model: Any, namespace: str, platform_chart: pulumi.Resource) -> list[pulumi.Resource]:
    deps: list[pulumi.Resource] = [platform_chart]
    storage = ctx.storage
    claim = storage.model_cache_claims.get(namespace)
    if claim is not None:
        deps.append(claim)
    job = storage.prefetch_jobs.get(model.model)
    if job is not None:
        deps.append(job)
    if model.token_secret != "none":
        deps.extend(storage.token_secrets.get(namespace, ()))  # the storage layer's token Secrets per namespace
    pool = ctx.spec.pool(model.pool)
    gate = ctx.acceptance.gates.get(model.pool) if pool and pool.acceptance.gate else None
    if gate is not None:
        deps.append(gate)
    optimized = ctx.optimization.jobs.get(model.name)  # quantize / engine Jobs (serving.optimization)
    if optimized is not None:
        deps.append(optimized)
    return deps


def pool_inputs(ctx: PlatformContext, pool: str, namespace: str) -> graphs.PoolInputs:
    """What the workers of a model on `pool` in `namespace` take from the fabric, acceptance, storage and compute
    layers."""
    domain = ctx.compute.compute_domains.get(pool, {}).get(namespace)
    return graphs.PoolInputs(
        fabric=ctx.fabric.profiles[pool],
        gate_selector=ctx.acceptance.node_selectors.get(pool, {}),
        kv_disk_class=ctx.storage.kv_disk_classes.get(pool),
        channel_template=domain[1] if domain else None,
    )


def build(ctx: PlatformContext, parent: pulumi.Resource) -> ServingOutputs:
    spec = ctx.spec
    serving = spec.serving
    if not serving.models:
        return ServingOutputs()
    ns = serving.dynamo.namespace
    # KAI / Grove charts come from the `scheduling` layer (serving/schedulers.py), which runs before tenancy
    scheduling = ctx.scheduling
    pre: list[pulumi.Resource] = [res for res in (scheduling.kai_scheduler, scheduling.grove) if res is not None]
    obs = ctx.observability.prometheus_stack
    if obs is not None:
        pre.append(obs)
    prometheus = platform.prometheus_url(spec, ctx.observability.prometheus_url)
    chart = kobj.chart(
        "dynamo-platform",
        chart_ref=graphs.dynamo_release(spec).chart(),
        namespace=ns,
        values=platform.platform_values(spec, prometheus),
        opts=ctx.k8s_opts(parent, depends_on=pre, namespace=ns),
    )

    dgds: dict[str, pulumi.Resource] = {}
    gateway = serving.routing.inference_gateway
    for model in serving.models:
        namespace = model_namespace(spec, model.name)
        inputs = pool_inputs(ctx, model.pool, namespace)
        manifest = graphs.graph_manifest(spec, model, namespace, inputs, prometheus=prometheus)
        deps = _deps(ctx, model, namespace, chart)
        dgd = kobj.apply(manifest, ctx.k8s_opts(parent, depends_on=deps, namespace=namespace))
        dgds[model.name] = dgd
        for pdb in graphs.disruption_budgets(model, namespace, gateway):
            kobj.apply(pdb, ctx.k8s_opts(parent, depends_on=[dgd], namespace=namespace))
    return ServingOutputs(
        graphs=dgds,
        scaled_components={m.name: graphs.scaled_components(m) for m in serving.models},
        served_model_names={m.name: engines.served_model_name(m) for m in serving.models},
    )
