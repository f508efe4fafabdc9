"""The `serving` layer: Dynamo platform charts, then per model its DynamoGraphDeployment, PodDisruptionBudgets
and (optionally) an InferencePool.

Handles it reads (optional: a stack without that layer has none): `prometheus_url` (observability),
`model_cache_claims` / `prefetch_jobs` / `token_secrets` (storage), `acceptance` (acceptance gates).
Handles it sets: `dynamo_platform` (the platform chart), `kai_scheduler` / `grove` (their charts, when enabled),
`graphs` {model name: DGD resource}, `scaling_adapters` {model name: {role: DGDSA name}} for KEDA.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.namespaces import model_namespace
from components.platform import PlatformContext
from serving import graphs, platform, routing


def _deps(ctx: PlatformContext, model: Any, namespace: str, platform_chart: pulumi.Resource) -> list[pulumi.Resource]:
    deps: list[pulumi.Resource] = [platform_chart]
    h = ctx.handles
    claims = h.get("model_cache_claims") or {}
    if isinstance(claims, dict) and claims.get(namespace) is not None:
        deps.append(claims[namespace])
    jobs = h.get("prefetch_jobs") or {}
    if isinstance(jobs, dict) and jobs.get(model.model) is not None:
        deps.append(jobs[model.model])
    secrets = h.get("token_secrets") or {}
    if model.token_secret != "none" and isinstance(secrets, dict) and secrets.get(namespace) is not None:
        found = secrets[namespace]  # the storage layer keeps a list of token Secrets per namespace
        deps.extend(found if isinstance(found, list) else [found])
    pool = ctx.spec.pool(model.pool)
    gate = (h.get("acceptance") or {}).get(model.pool) if pool and pool.acceptance.gate else None
    if gate is not None:
        deps.append(gate)
    optimized = (h.get("optimization_jobs") or {}).get(model.name)  # quantize / engine Jobs (serving.optimization)
    if optimized is not None:
        deps.append(optimized)
    return deps


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    spec = ctx.spec
    serving = spec.serving
    if not serving.models:
        return
    ns = serving.dynamo.namespace
    # KAI / Grove charts come from the `scheduling` layer (serving/schedulers.py), which runs before tenancy
    pre: list[pulumi.Resource] = [
        res for key in ("kai_scheduler", "grove") if isinstance(res := ctx.handles.get(key), pulumi.Resource)
    ]
    obs = ctx.handles.get("observability_crds") or ctx.handles.get("prometheus_stack")
    if isinstance(obs, pulumi.Resource):
        pre.append(obs)
    chart = kobj.chart(
        "dynamo-platform",
        chart_ref=CHARTS["dynamo-platform"],
        namespace=ns,
        values=platform.platform_values(spec, ctx.handles),
        opts=ctx.k8s_opts(parent, depends_on=pre, namespace=ns),
    )
    ctx.handles["dynamo_platform"] = chart

    prometheus = platform.prometheus_url(spec, ctx.handles)
    dgds: dict[str, pulumi.Resource] = {}
    adapters: dict[str, dict[str, str]] = {}
    for model in serving.models:
        namespace = model_namespace(spec, model.name)
        manifest = graphs.graph_manifest(spec, model, namespace, region=ctx.region, prometheus=prometheus)
        deps = _deps(ctx, model, namespace, chart)
        dgd = kobj.apply(manifest, ctx.k8s_opts(parent, depends_on=deps, namespace=namespace))
        dgds[model.name] = dgd
        if model.autoscaling.mode != "none":
            adapters[model.name] = {role: f"{model.name}-{role}" for role in model.workers()}
        for pdb in graphs.disruption_budgets(model, namespace):
            kobj.apply(pdb, ctx.k8s_opts(parent, depends_on=[dgd], namespace=namespace))
        if serving.routing.inference_gateway:
            pool = routing.inference_pool(model, namespace, f"{model.name}-epp")
            kobj.apply(pool, ctx.k8s_opts(parent, depends_on=[dgd], namespace=namespace))
    ctx.handles["graphs"] = dgds
    ctx.handles["scaling_adapters"] = adapters
