"""Grafana dashboards as code, generated from the spec: one GPU-fleet dashboard and one per model.

Shipped as ConfigMaps carrying the kube-prometheus-stack Grafana sidecar label, so Grafana loads them without a
UI step. Every query uses metrics from `metrics.KNOWN_METRICS` (a test enforces it).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from components import k8s as kobj
from components.observability.alerts import graph_selector, latency_quantile
from components.spec import ModelSpec, StackSpec

SIDECAR_LABEL = {"grafana_dashboard": "1"}  # kube-prometheus-stack grafana.sidecar.dashboards.label/labelValue
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # the chart's provisioned Prometheus datasource uid
SCHEMA_VERSION = 39


def _uid(title: str) -> str:
    return "ira-" + hashlib.sha256(title.encode()).hexdigest()[:12]


def _panel(
    pid: int, title: str, targets: list[tuple[str, str]], unit: str, x: int, y: int, threshold: float | None = None
) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    if threshold is not None:
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}, {"color": "red", "value": threshold}],
        }
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [
            {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def _dashboard(title: str, tags: list[str], panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "title": title,
        "uid": _uid(title),
        "tags": ["inference-ra", *tags],
        "schemaVersion": SCHEMA_VERSION,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "templating": {"list": []},
        "panels": panels,
    }


def _grid(panels: list[tuple[str, list[tuple[str, str]], str, float | None]]) -> list[dict[str, Any]]:
    return [
        _panel(i + 1, title, targets, unit, 12 * (i % 2), 8 * (i // 2), threshold)
        for i, (title, targets, unit, threshold) in enumerate(panels)
    ]


def fleet_dashboard(spec: StackSpec) -> dict[str, Any]:
    return _dashboard(
        f"GPU fleet — {spec.cluster.name}",
        ["gpu"],
        _grid(
            [
                ("GPU utilization by pool", [("avg by (pool) (DCGM_FI_DEV_GPU_UTIL)", "{{pool}}")], "percent", None),
                (
                    "Tensor pipe active by pool",
                    [("avg by (pool) (DCGM_FI_PROF_PIPE_TENSOR_ACTIVE)", "{{pool}}")],
                    "percentunit",
                    None,
                ),
                (
                    "GPU memory used by pool",
                    [("sum by (pool) (DCGM_FI_DEV_FB_USED) * 1048576", "{{pool}}")],
                    "bytes",
                    None,
                ),
                ("Power by pool", [("sum by (pool) (DCGM_FI_DEV_POWER_USAGE)", "{{pool}}")], "watt", None),
                ("Max GPU temperature by pool", [("max by (pool) (DCGM_FI_DEV_GPU_TEMP)", "{{pool}}")], "celsius", 85),
                (
                    "GPUs with XID / ECC errors by pool",
                    [
                        ("count by (pool) (DCGM_FI_DEV_XID_ERRORS > 0)", "XID {{pool}}"),
                        ("count by (pool) (increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[1h]) > 0)", "ECC {{pool}}"),
                    ],
                    "short",
                    None,
                ),
                (
                    "NVLink bandwidth by pool",
                    [
                        ("sum by (pool) (rate(DCGM_FI_PROF_NVLINK_TX_BYTES[5m]))", "tx {{pool}}"),
                        ("sum by (pool) (rate(DCGM_FI_PROF_NVLINK_RX_BYTES[5m]))", "rx {{pool}}"),
                    ],
                    "Bps",
                    None,
                ),
                (
                    "Nodes not ready",
                    [('sum(kube_node_status_condition{condition="Ready", status="true"} == 0)', "not ready")],
                    "short",
                    None,
                ),
            ]
        ),
    )


def model_dashboard(spec: StackSpec, model: ModelSpec) -> dict[str, Any]:
    sel = graph_selector(spec, model)
    ttft = (model.slo.ttft_ms / 1000) if model.slo else None
    itl = (model.slo.itl_ms / 1000) if model.slo else None
    quantiles = [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")]
    return _dashboard(
        f"Model {model.name}",
        ["model", model.engine, model.mode],
        _grid(
            [
                (
                    "Time to first token (SLO line)",
                    [
                        (latency_quantile("dynamo_frontend_time_to_first_token_seconds", sel, q), label)
                        for q, label in quantiles
                    ],
                    "s",
                    ttft,
                ),
                (
                    "Inter-token latency (SLO line)",
                    [
                        (latency_quantile("dynamo_frontend_inter_token_latency_seconds", sel, q), label)
                        for q, label in quantiles
                    ],
                    "s",
                    itl,
                ),
                (
                    "Output tokens / s",
                    [(f"sum(rate(dynamo_frontend_output_tokens_total{{{sel}}}[5m]))", "tokens/s")],
                    "short",
                    None,
                ),
                (
                    "Requests / s by status",
                    [(f"sum by (status) (rate(dynamo_frontend_requests_total{{{sel}}}[5m]))", "{{status}}")],
                    "reqps",
                    None,
                ),
                (
                    "KV prefix-cache hit rate",
                    [(f"avg(dynamo_component_kvstats_gpu_prefix_cache_hit_rate{{{sel}}})", "hit rate")],
                    "percentunit",
                    None,
                ),
                (
                    "GPU KV cache usage",
                    [
                        (f"max(dynamo_component_kvstats_gpu_cache_usage_percent{{{sel}}})", "max"),
                        (f"avg(dynamo_component_kvstats_gpu_cache_usage_percent{{{sel}}})", "avg"),
                    ],
                    "percentunit",
                    0.95,
                ),
                (
                    "In flight / queued",
                    [
                        (f"sum(dynamo_frontend_inflight_requests{{{sel}}})", "inflight"),
                        (f"sum(dynamo_frontend_queued_requests{{{sel}}})", "queued"),
                    ],
                    "short",
                    None,
                ),
                (
                    "Worker replicas",
                    [(f"count(dynamo_component_kvstats_total_blocks{{{sel}}})", "workers")],
                    "short",
                    None,
                ),
            ]
        ),
    )


def dashboard_configmap(name: str, namespace: str, dashboard: dict[str, Any]) -> kobj.Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": kobj.metadata(name, namespace, SIDECAR_LABEL),
        "data": {f"{name}.json": json.dumps(dashboard, indent=1, sort_keys=True)},
    }


def dashboard_manifests(spec: StackSpec, namespace: str) -> list[kobj.Manifest]:
    out = [dashboard_configmap("dashboard-gpu-fleet", namespace, fleet_dashboard(spec))]
    out += [
        dashboard_configmap(f"dashboard-model-{m.name}", namespace, model_dashboard(spec, m))
        for m in spec.serving.models
    ]
    return out
