"""The Dynamo platform: the `dynamo-platform` chart (operator + NATS, Kubernetes-API discovery) and, when the spec
asks for them, the KAI Scheduler and Grove as their own pinned charts.

Why KAI and Grove are separate releases rather than the platform chart's bundled subcharts: the platform values
file itself says "For production environments, it is recommended to install kai-scheduler [Grove] separately"; the
bundled versions (kai-scheduler v0.13.4, grove-charts v0.1.0-alpha.12-rc1, a prerelease) are older or unreleased,
while the separate charts are the pinned releases whose values.yaml we validate against (kai-scheduler v0.17.0,
grove v0.1.0-alpha.11). The platform chart only gets the integration toggles (`global.<x>.enabled`), which make the
operator inject `schedulerName`/queue labels and render PodCliqueSets.
"""

from __future__ import annotations

from typing import Any

from components.spec import StackSpec

KAI_NAMESPACE = "kai-scheduler"  # the namespace KAI's own components expect (Grove exempts kai-scheduler:binder)
GROVE_NAMESPACE = "grove-system"


def prometheus_url(spec: StackSpec, handles: dict[str, Any] | None = None) -> str | None:
    """Where the Planner and the operator query Prometheus: the observability layer's handle, an external URL, or
    the in-cluster kube-prometheus-stack Service; None when observability is off."""
    obs = spec.observability
    if not obs.enabled:
        return None
    handle = (handles or {}).get("prometheus_url")
    if isinstance(handle, str) and handle:
        return handle
    if obs.prometheus.mode == "external":
        return obs.prometheus.url
    return f"http://prometheus-kube-prometheus-prometheus.{obs.prometheus.namespace}.svc.cluster.local:9090"


def platform_values(spec: StackSpec, handles: dict[str, Any] | None = None) -> dict[str, Any]:
    """Values of the dynamo-platform chart (keys checked against its upstream values.yaml and, for the
    `dynamo-operator` block, the operator subchart's own values.yaml)."""
    d = spec.serving.dynamo
    operator: dict[str, Any] = {"discoveryBackend": "kubernetes"}
    dynamo_block: dict[str, Any] = {}
    url = prometheus_url(spec, handles)
    if url:
        metrics: dict[str, Any] = {"prometheusEndpoint": url}
        if spec.observability.prometheus.mode == "deploy":
            # Render PodMonitors deterministically (the chart's null = "auto-detect" does not work under helm
            # template / Pulumi's client-side rendering); the observability layer installs the CRDs first.
            metrics["podMonitors"] = {"enabled": True}
        dynamo_block["metrics"] = metrics
    if dynamo_block:
        operator["dynamo"] = dynamo_block
    return {
        "global": {
            "nats": {"install": d.nats},
            "etcd": {"install": False},
            "kai-scheduler": {"install": False, "enabled": d.kai_scheduler},
            "grove": {"install": False, "enabled": d.grove},
        },
        "dynamo-operator": operator,
    }


def kai_values() -> dict[str, Any]:
    """KAI Scheduler chart values: the release defaults; tenant queues are created by the tenancy layer."""
    return {}


def grove_values(spec: StackSpec) -> dict[str, Any]:
    """Grove operator values: topology-aware gang scheduling follows scheduling.topologyAware."""
    if spec.scheduling.topology_aware:
        return {"config": {"topologyAwareScheduling": {"enabled": True}}}
    return {}
