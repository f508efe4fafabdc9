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

from components.observability.layer import prometheus_url as observability_prometheus_url
from components.spec import StackSpec

KAI_NAMESPACE = "kai-scheduler"  # the namespace KAI's own components expect (Grove exempts kai-scheduler:binder)
GROVE_NAMESPACE = "grove-system"


def prometheus_url(spec: StackSpec, handles: dict[str, Any] | None = None) -> str | None:
    """Where the Planner and the operator query Prometheus: the observability layer's handle, else the same
    function that layer uses; None when observability is off."""
    handle = (handles or {}).get("prometheus_url")
    if isinstance(handle, str) and handle:
        return handle
    return observability_prometheus_url(spec)


def platform_values(spec: StackSpec, handles: dict[str, Any] | None = None) -> dict[str, Any]:
    """Values of the dynamo-platform chart (keys checked against its upstream values.yaml and, for the
    `dynamo-operator` block, the operator subchart's own values.yaml)."""
    d = spec.serving.dynamo
    operator: dict[str, Any] = {"discoveryBackend": "kubernetes"}
    dynamo_block: dict[str, Any] = {}
    url = prometheus_url(spec, handles)
    if url:
        # The observability layer renders its own PodMonitors for frontends, workers and KVBM (with graph and pool
        # target labels the SLO alerts select on), so the operator's generic ones stay off: no double scraping.
        dynamo_block["metrics"] = {"prometheusEndpoint": url, "podMonitors": {"enabled": False}}
    if dynamo_block:
        operator["dynamo"] = dynamo_block
    values: dict[str, Any] = {
        "global": {
            "nats": {"install": d.nats},
            "etcd": {"install": False},
            "kai-scheduler": {"install": False, "enabled": d.kai_scheduler},
            "grove": {"install": False, "enabled": d.grove},
        },
        "dynamo-operator": operator,
    }
    if d.nats:
        values["nats"] = nats_values(spec)
    return values


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    return {"resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}}


def nats_values(spec: StackSpec) -> dict[str, Any]:
    """The NATS subchart: requests and memory limits on its three containers (the policy pack's mandatory
    `container-resources` rule sees the chart's StatefulSet; found by `make e2e`). Reader: nats chart
    templates/statefulset.yaml, which merges `container.merge`, `reloader.merge` and `promExporter.merge` into
    those containers. JetStream with file storage holds little in memory for KV events and router sync."""
    values: dict[str, Any] = {
        "container": {"merge": _resources("250m", "512Mi", "1Gi")},
        "reloader": {"merge": _resources("10m", "32Mi", "64Mi")},
        "promExporter": {"merge": _resources("10m", "32Mi", "64Mi")},
    }
    if spec.observability.enabled:
        values["promExporter"]["enabled"] = True  # NATS metrics for the dynamo-nats PodMonitor
    return values


def kai_values() -> dict[str, Any]:
    """KAI Scheduler chart values: the release defaults but for the operator's requests and memory limit (the
    policy pack's `container-resources` sees the chart's kai-operator Deployment; found by `make e2e`). Reader:
    templates/services/operator.yaml (`.Values.operator.resources`); the operator in turn sizes the scheduler
    components it deploys from its own config. Tenant queues are created by the tenancy layer."""
    return {
        "operator": _resources("50m", "128Mi", "512Mi"),
        # The chart creates the reservation Namespace and ServiceAccount only while Helm's `lookup` does not find
        # them (templates/services/resourcereservation-{namespace,serviceaccount}.yaml); the provider's render
        # looks them up, so the next `pulumi up` would delete them (found by `make e2e`). The stack creates them
        # (`kai_reservation_objects`).
        "global": {"resourceReservation": {"createNamespace": False, "createServiceAccount": False}},
    }


KAI_RESERVATION = "kai-resource-reservation"  # the chart's global.resourceReservation.namespace / serviceAccount


def kai_reservation_objects() -> list[dict[str, Any]]:
    """The Namespace and ServiceAccount KAI's resource-reservation pods use, as the chart would render them."""
    labels = {"app.kubernetes.io/managed-by": "inference-ra"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KAI_RESERVATION, "labels": labels}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": KAI_RESERVATION, "namespace": KAI_RESERVATION, "labels": labels},
        },
    ]


def grove_values(spec: StackSpec) -> dict[str, Any]:
    """Grove operator values: topology-aware gang scheduling follows scheduling.topologyAware."""
    if spec.scheduling.topology_aware:
        return {"config": {"topologyAwareScheduling": {"enabled": True}}}
    return {}
