"""Scrape targets as prometheus-operator PodMonitors / ServiceMonitors (validated against the upstream CRDs).

Dynamo pods are selected by the labels the Dynamo operator puts on every pod it creates
(`nvidia.com/dynamo-component-type`, `nvidia.com/dynamo-graph-deployment-name`; Dynamo operator
`internal/consts`); the graph name is copied into a `graph` target label so alerts can select one model's series.
"""

from __future__ import annotations

from typing import Any

from components import k8s as kobj
from components.constants import POOL_LABEL
from components.spec import StackSpec

MONITOR_API = "monitoring.coreos.com/v1"
COMPONENT_TYPE_LABEL = "nvidia.com/dynamo-component-type"
GRAPH_LABEL = "nvidia.com/dynamo-graph-deployment-name"
DCGM_SERVICE_LABELS = {"app": "nvidia-dcgm-exporter"}  # Service the GPU Operator creates for the DCGM exporter
DCGM_PORT = "gpu-metrics"
FRONTEND_PORT = "http"  # Dynamo frontend container port name (DYN_HTTP_PORT 8000)
WORKER_PORT = "system"  # Dynamo worker system/metrics port name (DYN_SYSTEM_PORT)
KVBM_METRICS_PORT = 6880  # DYN_KVBM_METRICS_PORT default
NATS_EXPORTER_PORT = "prom-metrics"  # nats chart promExporter container port
TRITON_METRICS_PORT = "metrics"  # Triton --metrics-port 8002, named by the triton layer
TRITON_APP_LABEL = {"app.kubernetes.io/name": "triton-inference-server"}
SCRAPE_INTERVAL = "15s"


def _meta(label: str) -> str:
    """Prometheus' sanitized name of a Kubernetes label (every non [a-zA-Z0-9_] character becomes `_`)."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in label)


def _node_relabelings() -> list[dict[str, Any]]:
    """`node` and `pool` target labels; `pool` needs attachMetadata.node (the node's labels)."""
    return [
        {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"},
        {
            "sourceLabels": [f"__meta_kubernetes_node_label_{_meta(POOL_LABEL)}"],
            "targetLabel": "pool",
            "action": "replace",
        },
    ]


def _graph_relabelings() -> list[dict[str, Any]]:
    return [
        {
            "sourceLabels": [f"__meta_kubernetes_pod_label_{_meta(GRAPH_LABEL)}"],
            "targetLabel": "graph",
            "action": "replace",
        },
        *_node_relabelings(),
    ]


def _monitor(kind: str, name: str, namespace: str, spec: dict[str, Any]) -> kobj.Manifest:
    labels = {"app.kubernetes.io/part-of": "inference-ra", "release": "kube-prometheus-stack"}
    return {"apiVersion": MONITOR_API, "kind": kind, "metadata": kobj.metadata(name, namespace, labels), "spec": spec}


# Worker pods carry component type `worker` (with the role as sub-component type) or, on newer operators, the role
# itself (`prefill` / `decode`): select both.
WORKER_TYPES = ["worker", "prefill", "decode"]


def _dynamo_pod_monitor(
    name: str, namespaces: list[str], monitor_ns: str, types: list[str], endpoint: dict[str, Any]
) -> kobj.Manifest:
    return _monitor(
        "PodMonitor",
        name,
        monitor_ns,
        {
            "namespaceSelector": {"matchNames": sorted(namespaces)},
            "attachMetadata": {"node": True},
            "selector": {"matchExpressions": [{"key": COMPONENT_TYPE_LABEL, "operator": "In", "values": types}]},
            "podMetricsEndpoints": [
                {**endpoint, "path": "/metrics", "interval": SCRAPE_INTERVAL, "relabelings": _graph_relabelings()}
            ],
        },
    )


def dynamo_pod_monitors(spec: StackSpec, namespaces: list[str], monitor_ns: str) -> list[kobj.Manifest]:
    """Frontend, worker and (for KVBM models) KVBM PodMonitors across every namespace that serves models."""
    if not namespaces:
        return []
    out = [
        _dynamo_pod_monitor("dynamo-frontend", namespaces, monitor_ns, ["frontend"], {"port": FRONTEND_PORT}),
        _dynamo_pod_monitor("dynamo-worker", namespaces, monitor_ns, WORKER_TYPES, {"port": WORKER_PORT}),
    ]
    if any(m.kv_cache.connector == "kvbm" for m in spec.serving.models):
        out.append(
            _dynamo_pod_monitor("dynamo-kvbm", namespaces, monitor_ns, WORKER_TYPES, {"portNumber": KVBM_METRICS_PORT})
        )
    return out


def dcgm_service_monitor(monitor_ns: str, gpu_operator_ns: str) -> kobj.Manifest:
    return _monitor(
        "ServiceMonitor",
        "nvidia-dcgm-exporter",
        monitor_ns,
        {
            "namespaceSelector": {"matchNames": [gpu_operator_ns]},
            "attachMetadata": {"node": True},
            "selector": {"matchLabels": DCGM_SERVICE_LABELS},
            "endpoints": [
                {"port": DCGM_PORT, "path": "/metrics", "interval": SCRAPE_INTERVAL, "relabelings": _node_relabelings()}
            ],
        },
    )


def nats_pod_monitor(monitor_ns: str, dynamo_ns: str) -> kobj.Manifest:
    return _monitor(
        "PodMonitor",
        "dynamo-nats",
        monitor_ns,
        {
            "namespaceSelector": {"matchNames": [dynamo_ns]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "nats"}},
            "podMetricsEndpoints": [{"port": NATS_EXPORTER_PORT, "path": "/metrics", "interval": SCRAPE_INTERVAL}],
        },
    )


def triton_pod_monitor(monitor_ns: str, namespaces: list[str]) -> kobj.Manifest:
    return _monitor(
        "PodMonitor",
        "triton",
        monitor_ns,
        {
            "namespaceSelector": {"matchNames": sorted(namespaces)},
            "selector": {"matchLabels": TRITON_APP_LABEL},
            "podMetricsEndpoints": [{"port": TRITON_METRICS_PORT, "path": "/metrics", "interval": SCRAPE_INTERVAL}],
        },
    )
