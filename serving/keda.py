"""KEDA autoscaling of Dynamo workers on their latency targets, for models with `autoscaling.mode: keda`.

Per scaled worker role one `ScaledObject` targets the graph's DynamoGraphDeploymentScalingAdapter (the Scale
subresource the Dynamo operator creates for a component that sets `scalingAdapter: {}`), with Prometheus triggers
on the frontend's latency histograms against the model's SLO:
  prefill  -> p95 time to first token  (dynamo_frontend_time_to_first_token_seconds)
  decode   -> p95 inter-token latency  (dynamo_frontend_inter_token_latency_seconds)
  worker   -> both (aggregated workers do prefill and decode)
The KEDA chart itself is installed once when any model uses KEDA.

Contract with the serving layer (docs/tenancy.md): DGD name = model name; component names per role from the
handle `dgd_components` ({model: {role: componentName}}) else `DEFAULT_COMPONENTS`; every scaled component sets
`scalingAdapter: {}`. Adapter name = `<dgd>-<lowercased componentName>` (operator `generateAdapterName`).
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.namespaces import KEDA_NAMESPACE, model_namespace
from components.observability.layer import prometheus_url as observability_prometheus_url
from components.platform import PlatformContext
from components.spec import StackSpec
from components.spec.serving import ModelSpec

ADAPTER_API = "nvidia.com/v1beta1"
ADAPTER_KIND = "DynamoGraphDeploymentScalingAdapter"
DEFAULT_COMPONENTS: dict[str, str] = {
    "frontend": "Frontend",
    "worker": "worker",
    "prefill": "prefill",
    "decode": "decode",
}

TTFT_METRIC = "dynamo_frontend_time_to_first_token_seconds"
ITL_METRIC = "dynamo_frontend_inter_token_latency_seconds"
QUANTILE = 0.95  # SloSpec targets are p95
RATE_WINDOW = "2m"
POLLING_SECONDS = 15
COOLDOWN_SECONDS = 300
SCALE_DOWN_WINDOW_SECONDS = 300  # a GPU worker takes minutes to load: do not shed one on a short lull


def keda_models(spec: StackSpec) -> list[ModelSpec]:
    return [m for m in spec.serving.models if m.autoscaling.mode == "keda"]


def prometheus_url(spec: StackSpec, handle: Any = None) -> Any:
    """The observability layer's handle, else the address that layer computes from the spec."""
    if handle is not None:
        return handle
    return observability_prometheus_url(spec)


def adapter_name(dgd: str, component: str) -> str:
    return f"{dgd}-{component.lower()}"


def _selector(spec: StackSpec, m: ModelSpec, served_name: str) -> str:
    # `namespace` is the scrape target's namespace (added by the PodMonitor/ServiceMonitor); the frontend labels
    # series with the served model name lowercased (dynamo planner utils/prometheus.py).
    return f'namespace="{model_namespace(spec, m.name)}",model="{served_name.lower()}"'


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
    components: dict[str, str] | None = None,
    served_name: str | None = None,
) -> list[kobj.Manifest]:
    names = {**DEFAULT_COMPONENTS, **(components or {})}
    ns = model_namespace(spec, m.name)
    a = m.autoscaling
    out = []
    for role in m.workers():
        target = adapter_name(m.name, names[role])
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
                    "scaleTargetRef": {"apiVersion": ADAPTER_API, "kind": ADAPTER_KIND, "name": target},
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
                    "triggers": triggers(spec, m, role, server, served_name or m.model),
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
    # The chart renders ServiceMonitors when monitors are on: their CRDs come from the observability layer (its
    # CRD set or kube-prometheus-stack). Render after them, or the provider cannot tell the monitors' scope
    # ("failed to determine if the following GVK is namespaced", found by `make e2e`; pulumi-kubernetes#3176).
    obs = ctx.handles.get("observability_crds") or ctx.handles.get("prometheus_stack")
    chart = kobj.chart(
        "keda",
        chart_ref=CHARTS["keda"],
        namespace=KEDA_NAMESPACE,
        values=chart_values(spec),
        opts=ctx.k8s_opts(parent, depends_on=[obs] if obs is not None else [], namespace=KEDA_NAMESPACE),
    )
    ctx.handles["keda"] = chart
    server = prometheus_url(spec, ctx.handles.get("prometheus_url"))
    components: dict[str, dict[str, str]] = ctx.handles.get("dgd_components") or {}
    served: dict[str, str] = ctx.handles.get("served_model_names") or {}
    dgds: dict[str, pulumi.Resource] = ctx.handles.get("graphs") or {}  # set by the serving layer
    for m in models:
        deps: list[pulumi.Resource] = [chart]
        if isinstance(dgds.get(m.name), pulumi.Resource):
            deps.append(dgds[m.name])
        ns = model_namespace(spec, m.name)
        for manifest in scaled_objects(spec, m, server, components.get(m.name), served.get(m.name)):
            kobj.apply(manifest, ctx.k8s_opts(parent, namespace=ns, depends_on=deps))
