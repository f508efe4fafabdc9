"""PrometheusRules: one group per model from its SLO, and fleet rules for GPUs, nodes, KV cache and queues.

Thresholds are the spec's numbers (SLO ms -> seconds) so alerts, autoscaling and benchmarks share one source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components import k8s as kobj
from components.namespaces import model_namespace
from components.spec import ModelSpec, StackSpec

RULE_API = "monitoring.coreos.com/v1"
SLO_QUANTILE = 0.95
WINDOW = "5m"
KV_SATURATION = 0.95


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    labels: tuple[tuple[str, str], ...] = ()

    def to_rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, **dict(self.labels)},
            "annotations": {"summary": self.summary},
        }


def graph_selector(spec: StackSpec, model: ModelSpec) -> str:
    return f'namespace="{model_namespace(spec, model.name)}", graph="{model.name}"'


def latency_quantile(metric: str, selector: str, quantile: float = SLO_QUANTILE, window: str = WINDOW) -> str:
    return f"histogram_quantile({quantile}, sum by (le) (rate({metric}_bucket{{{selector}}}[{window}])))"


def slo_alerts(spec: StackSpec, model: ModelSpec) -> list[Alert]:
    if model.slo is None:
        return []
    sel = graph_selector(spec, model)
    labels = (("model", model.name), ("namespace", model_namespace(spec, model.name)))
    slo = model.slo
    ttft_s, itl_s = slo.ttft_ms / 1000, slo.itl_ms / 1000
    errors = (
        f'sum(rate(dynamo_frontend_requests_total{{{sel}, status="error"}}[{WINDOW}])) / '
        f"sum(rate(dynamo_frontend_requests_total{{{sel}}}[{WINDOW}]))"
    )
    return [
        Alert(
            "InferenceTTFTAboveSLO",
            f"{latency_quantile('dynamo_frontend_time_to_first_token_seconds', sel)} > {ttft_s:g}",
            "10m",
            "warning",
            f"{model.name}: p95 time to first token above the {slo.ttft_ms:g} ms SLO",
            labels,
        ),
        Alert(
            "InferenceITLAboveSLO",
            f"{latency_quantile('dynamo_frontend_inter_token_latency_seconds', sel)} > {itl_s:g}",
            "10m",
            "warning",
            f"{model.name}: p95 inter-token latency above the {slo.itl_ms:g} ms SLO",
            labels,
        ),
        Alert(
            "InferenceErrorRateAboveSLO",
            f"({errors}) > {slo.error_rate:g}",
            "5m",
            "critical",
            f"{model.name}: more than {slo.error_rate:.1%} of requests fail",
            labels,
        ),
        Alert(
            "InferenceKVCacheSaturated",
            f"max(dynamo_component_kvstats_gpu_cache_usage_percent{{{sel}}}) > {KV_SATURATION:g}",
            "15m",
            "warning",
            f"{model.name}: GPU KV cache above {KV_SATURATION:.0%} — requests queue and get preempted; scale out or "
            "add a KV offload tier",
            labels,
        ),
    ]


def fleet_alerts(spec: StackSpec) -> list[Alert]:
    gpu_namespaces = "|".join(
        sorted(
            {model_namespace(spec, m.name) for m in spec.serving.models} | {t.namespace for t in spec.serving.triton}
        )
    )
    alerts = [
        Alert(
            "GPUXidError",
            "DCGM_FI_DEV_XID_ERRORS > 0",
            "0m",
            "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}",
        ),
        Alert(
            "GPUFellOffTheBus",
            "DCGM_FI_DEV_XID_ERRORS == 79 or (count by (Hostname) (DCGM_FI_DEV_GPU_TEMP offset 10m) > "
            "count by (Hostname) (DCGM_FI_DEV_GPU_TEMP))",
            "0m",
            "critical",
            "A GPU on {{ $labels.Hostname }} fell off the bus (XID 79 or fewer GPUs reporting than 10 minutes ago)",
        ),
        Alert(
            "GPUUncorrectableECC",
            "increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[15m]) > 0 or DCGM_FI_DEV_ROW_REMAP_FAILURE > 0",
            "0m",
            "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }}: uncorrectable ECC error or row-remap failure; "
            "drain the node",
        ),
        Alert(
            "GPUThermalThrottling",
            "DCGM_FI_DEV_GPU_TEMP > 85",
            "10m",
            "warning",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} above 85 C: clocks are being throttled",
        ),
        Alert(
            "GPUNodeNotReady",
            'kube_node_status_condition{condition="Ready", status="true"} == 0',
            "5m",
            "critical",
            "Node {{ $labels.node }} is not Ready",
        ),
    ]
    if gpu_namespaces:
        alerts.append(
            Alert(
                "GPUWorkloadsPending",
                f'sum by (namespace) (kube_pod_status_phase{{phase="Pending", namespace=~"{gpu_namespaces}"}}) > 0',
                "15m",
                "warning",
                "Pods in {{ $labels.namespace }} have been Pending for 15 minutes: the GPU queue is out of capacity",
            )
        )
    return alerts


def prometheus_rule(name: str, namespace: str, groups: list[tuple[str, list[Alert]]]) -> kobj.Manifest:
    return {
        "apiVersion": RULE_API,
        "kind": "PrometheusRule",
        "metadata": kobj.metadata(
            name, namespace, {"app.kubernetes.io/part-of": "inference-ra", "release": "kube-prometheus-stack"}
        ),
        "spec": {"groups": [{"name": g, "rules": [a.to_rule() for a in alerts]} for g, alerts in groups if alerts]},
    }


def rule_manifests(spec: StackSpec, namespace: str) -> list[kobj.Manifest]:
    out = [prometheus_rule("inference-ra-fleet", namespace, [("gpu-fleet", fleet_alerts(spec))])]
    for model in spec.serving.models:
        alerts = slo_alerts(spec, model)
        if alerts:
            out.append(prometheus_rule(f"slo-{model.name}", namespace, [(f"slo-{model.name}", alerts)]))
    return out
