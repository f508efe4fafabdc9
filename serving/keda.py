"""KEDA autoscaling of Dynamo workers on their latency targets, for models with `autoscaling.mode: keda`.

Per scaled worker role one `ScaledObject` targets the graph's DynamoGraphDeploymentScalingAdapter (the Scale
subresource the Dynamo operator creates for a component that sets `scalingAdapter: {}`), with Prometheus triggers
on the frontend's latency histograms against the model's SLO:
  prefill  -> p95 time to first token  (dynamo_frontend_time_to_first_token_seconds)
  decode   -> p95 inter-token latency  (dynamo_frontend_inter_token_latency_seconds)
  worker   -> both (aggregated workers do prefill and decode)
The KEDA chart itself is installed once when any model uses KEDA.

Contract with the serving layer (`ServingOutputs`): DGD name = model name (`graphs`); the components that set
`scalingAdapter: {}` per worker role (`scaled_components`); the served model name (`served_model_names`), which the
frontend writes, case kept, into the `model` label of `dynamo_frontend_*` (Dynamo >= 1.2). Adapter name =
`<dgd>-<lowercased componentName>` (operator `generateAdapterName`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.catalog.dynamo import release
from components.context import PlatformContext
from components.namespaces import KEDA_NAMESPACE, model_namespace
from components.observability.layer import prometheus_url as observability_prometheus_url
from components.spec import StackSpec
from components.spec.serving import ModelSpec


def graph_api(spec: StackSpec) -> str:
    """apiVersion of the release's DynamoGraphDeploymentScalingAdapter (the graph API of the release)."""
    return release(spec.serving.dynamo.version).graph_api


ADAPTER_KIND = "DynamoGraphDeploymentScalingAdapter"

TTFT_METRIC = "dynamo_frontend_time_to_first_token_seconds"
ITL_METRIC = "dynamo_frontend_inter_token_latency_seconds"
QUANTILE = 0.95  # SloSpec targets are p95
RATE_WINDOW = "2m"
POLLING_SECONDS = 15
COOLDOWN_SECONDS = 300
SCALE_DOWN_WINDOW_SECONDS = 300  # a GPU worker takes minutes to load: do not shed one on a short lull


def keda_models(spec: StackSpec) -> list[ModelSpec]:
    return [m for m in spec.serving.models if m.autoscaling.mode == "keda"]


def prometheus_url(spec: StackSpec, url: str | None = None) -> str | None:
    """The observability layer's URL (`ctx.observability.prometheus_url`), else the address that layer computes
    from the spec."""
    if url is not None:
        return url
    return observability_prometheus_url(spec)


def adapter_name(dgd: str, component: str) -> str:
    return f"{dgd}-{component.lower()}"


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal: backslash, double quote and line breaks escaped (Prometheus
    "Querying basics": strings follow Go's escaping rules)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _selector(spec: StackSpec, m: ModelSpec, served_name: str) -> str:
    # `namespace` is the scrape target's namespace (added by the PodMonitor/ServiceMonitor); `model` is the served
    # model name exactly as the frontend labels its series (case kept since Dynamo 1.2).
    return f"namespace={promql_string(model_namespace(spec, m.name))},model={promql_string(served_name)}"


def quantile_query(metric: str, selector: str) -> str:
    return f"histogram_quantile({QUANTILE}, sum by (le) (rate({metric}_bucket{{{selector}}}[{RATE_WINDOW}])))"


def triggers(spec: StackSpec, m: ModelSpec, role: str, server: Any, served_name: str) -> list[dict[str, Any]]:
    assert m.slo is not None  # rule keda-autoscaling
    sel = _selector(spec, m, served_name)
    wanted = {"prefill": ["ttft"], "decode": ["itl"], "worker": ["ttft", "itl"]}[role]
    out = []
    for kind in wanted:
        metric, target_ms = (TTFT_METRIC, m.slo.ttft_ms) if kind == "ttft" else (ITL_METRIC, m.slo.itl_ms)
        out.append(
            {
                "type": "prometheus",
                "name": f"{kind}-p95",
                # Value: replicas grow with observed/target latency (HPA external metric, not averaged)
                "metricType": "Value",
                "metadata": {
                    "serverAddress": server,
                    "query": quantile_query(metric, sel),
                    "threshold": f"{target_ms / 1000:g}",
                    "ignoreNullValues": "true",
                },
            }
        )
    return out


def scaled_objects(
    spec: StackSpec,
    m: ModelSpec,
    server: Any,
    components: Mapping[str, str],
    served_name: str,
) -> list[kobj.Manifest]:
    """One ScaledObject per scaled component of the graph (`components`: {worker role: component name})."""
    ns = model_namespace(spec, m.name)
    a = m.autoscaling
    api = graph_api(spec)
    out = []
    for role, component in components.items():
        target = adapter_name(m.name, component)
        out.append(
            {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": kobj.metadata(
                    target,
                    ns,
                    {"inference-ra.nvidia.com/graph": m.name, "inference-ra.nvidia.com/role": role},
                ),
                "spec": {
                    "scaleTargetRef": {"apiVersion": api, "kind": ADAPTER_KIND, "name": target},
                    "minReplicaCount": a.min_replicas,
                    "maxReplicaCount": a.max_replicas,
                    "pollingInterval": POLLING_SECONDS,
                    "cooldownPeriod": COOLDOWN_SECONDS,
                    "advanced": {
                        "horizontalPodAutoscalerConfig": {
                            "name": f"keda-{target}",
                            "behavior": {
                                "scaleDown": {
                                    "stabilizationWindowSeconds": SCALE_DOWN_WINDOW_SECONDS,
                                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
                                },
                                "scaleUp": {
                                    "stabilizationWindowSeconds": 60,
                                    "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
                                },
                            },
                        }
                    },
                    "triggers": triggers(spec, m, role, server, served_name),
                },
            }
        )
    return out


def chart_values(spec: StackSpec) -> dict[str, Any]:
    """KEDA's own metrics go to the stack's Prometheus Operator when it deploys one (ServiceMonitor CRD present)."""
    monitors = spec.observability.enabled and spec.observability.prometheus.mode == "deploy"
    return {
        "crds": {"install": True},
        "prometheus": {
            "operator": {"enabled": monitors, "serviceMonitor": {"enabled": monitors}},
            "metricServer": {"enabled": monitors, "serviceMonitor": {"enabled": monitors}},
        },
    }


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    spec = ctx.spec
    models = keda_models(spec)
    if not models:
        return
    # The chart renders ServiceMonitors when monitors are on: their CRDs come from kube-prometheus-stack when the
    # stack deploys it. Render after it, or the provider cannot tell the monitors' scope ("failed to determine if
    # the following GVK is namespaced", found by `make e2e`; pulumi-kubernetes#3176).
    obs = ctx.observability.prometheus_stack
    chart = kobj.chart(
        "keda",
        chart_ref=CHARTS["keda"],
        namespace=KEDA_NAMESPACE,
        values=chart_values(spec),
        opts=ctx.k8s_opts(parent, depends_on=[obs] if obs is not None else [], namespace=KEDA_NAMESPACE),
    )
    server = prometheus_url(spec, ctx.observability.prometheus_url)
    serving = ctx.serving
    for m in models:
        deps: list[pulumi.Resource] = [chart]
        dgd = serving.graphs.get(m.name)
        if dgd is not None:
            deps.append(dgd)
        ns = model_namespace(spec, m.name)
        components = serving.scaled_components.get(m.name, {})
        served = serving.served_model_names[m.name]
        for manifest in scaled_objects(spec, m, server, components, served):
            kobj.apply(manifest, ctx.k8s_opts(parent, namespace=ns, depends_on=deps))
