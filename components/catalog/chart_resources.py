"""Container resources of chart pods, as chart values: the policy pack (rule `container-resources`) holds chart pods
to the same bar as the stack's own, and most charts ship `resources: {}`.

Each entry is a values path and what it sets; `components/charts.chart_values` adds it to the chart's values
unless the stack's values already set that path. Sizes follow each chart's own commented example in its
values.yaml (the `# limits: / # requests:` block next to the key), with memory limits raised where the example is
below what the component uses at fleet scale (noted). Requests cpu/memory + a memory limit, no CPU limit (the
rule's default; CPU limits throttle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValueDefault:
    path: str  # dotted values path (subchart keys included, e.g. `grafana.sidecar.resources`)
    value: Any
    reader: str  # the template that reads it


def _res(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


CHART_RESOURCES: dict[str, tuple[ValueDefault, ...]] = {
    "kube-prometheus-stack": (
        ValueDefault(
            "prometheusOperator.resources",
            _res("100m", "100Mi", "256Mi"),
            "templates/prometheus-operator/deployment.yaml (example in values.yaml: 100m/100Mi, limit 200Mi)",
        ),
        ValueDefault(
            "kube-state-metrics.resources",
            _res("100m", "128Mi", "512Mi"),
            "charts/kube-state-metrics/templates/deployment.yaml (example 10m/32Mi, limit 64Mi; kube-state-metrics "
            "memory grows with the object count: 1,024 nodes need more)",
        ),
        ValueDefault(
            "prometheus-node-exporter.resources",
            _res("100m", "32Mi", "64Mi"),
            "charts/prometheus-node-exporter/templates/daemonset.yaml (example 100m/30Mi, limit 50Mi)",
        ),
        ValueDefault(
            "grafana.resources",
            _res("100m", "128Mi", "512Mi"),
            "charts/grafana/templates/_pod.tpl (example 100m/128Mi, limit 128Mi; dashboards of 1,024 nodes)",
        ),
        ValueDefault(
            "grafana.sidecar.resources",
            _res("50m", "64Mi", "128Mi"),
            "charts/grafana/templates/_pod.tpl, both k8s-sidecar containers (example 100m/128Mi)",
        ),
    ),
    "dynamo-platform": (
        ValueDefault(
            "nats.container.merge.resources",
            _res("100m", "256Mi", "2Gi"),
            "charts/nats/templates/statefulset.yaml merges container.merge into the nats container (JetStream "
            "file store; memory for in-flight KV events)",
        ),
        ValueDefault(
            "nats.reloader.merge.resources",
            _res("10m", "16Mi", "64Mi"),
            "charts/nats/templates/statefulset.yaml (reloader container)",
        ),
        ValueDefault(
            "nats.promExporter.merge.resources",
            _res("10m", "32Mi", "64Mi"),
            "charts/nats/templates/statefulset.yaml (prom-exporter container)",
        ),
    ),
    "kai-scheduler": (
        ValueDefault(
            "operator.resources",
            _res("100m", "128Mi", "512Mi"),
            "templates/services/operator.yaml `with .Values.operator.resources` (no default in values.yaml)",
        ),
    ),
    "dra-driver-nvidia-gpu": (
        ValueDefault(
            "controller.containers.computeDomain.resources",
            _res("50m", "64Mi", "256Mi"),
            "templates/controller.yaml",
        ),
        ValueDefault(
            "kubeletPlugin.containers.computeDomains.resources",
            _res("50m", "64Mi", "256Mi"),
            "templates/kubeletplugin.yaml",
        ),
    ),
    "aws-efa-k8s-device-plugin": (
        ValueDefault(
            "resources.limits.memory",
            "128Mi",
            "templates/daemonset.yaml (chart default requests 10m/20Mi; example limit 128Mi)",
        ),
    ),
}
