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

# KAI_NAMESPACE: the namespace KAI's own components expect (Grove exempts kai-scheduler:binder)
from components.namespaces import GROVE_NAMESPACE as GROVE_NAMESPACE
from components.namespaces import KAI_NAMESPACE as KAI_NAMESPACE
from components.observability.layer import prometheus_url as observability_prometheus_url
from components.spec import StackSpec


def prometheus_url(spec: StackSpec, url: str | None = None) -> str | None:
    """Where the Planner and the operator query Prometheus: the observability layer's URL
    (`ctx.observability.prometheus_url`), else the same function that layer uses; None when observability is off."""
    if url:
        return url
    return observability_prometheus_url(spec)


def platform_values(spec: StackSpec, prometheus: str | None = None) -> dict[str, Any]:
    """Values of the dynamo-platform chart (keys checked against its upstream values.yaml and, for the
    `dynamo-operator` block, the operator subchart's own values.yaml)."""
    d = spec.serving.dynamo
    operator: dict[str, Any] = {"discoveryBackend": "kubernetes"}
    dynamo_block: dict[str, Any] = {}
    url = prometheus_url(spec, prometheus)
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
    if d.nats and spec.observability.enabled:
        values["nats"] = {"promExporter": {"enabled": True}}  # NATS metrics for the dynamo-nats PodMonitor
    return values


def kai_values() -> dict[str, Any]:
    """KAI Scheduler chart values: the release defaults, except that the `kai-config` Config CR (from which the KAI
    operator deploys the scheduler) is a release object instead of the output of a post-install hook Job that
    helm.v4.Chart never runs (upstream's GitOps mode), no Kueue topology migration hook, and the resource-reservation
    Namespace and ServiceAccount owned by the stack: the chart renders them only while Helm's `lookup` does not find
    them (templates/services/resourcereservation-{namespace,serviceaccount}.yaml), so the provider's render on the
    next `pulumi up` would delete them (found by `make e2e`). Tenant queues are created by the tenancy layer.
    components/catalog/versions.py records the decision; security contexts: components/catalog/chart_security.py."""
    return {
        "kaiConfigDeployer": {"enabled": False},
        "kaiConfig": {"render": True},
        "topologyMigration": {"enabled": False},
        "global": {"resourceReservation": {"createNamespace": False, "createServiceAccount": False}},
    }


KAI_RESERVATION = "kai-resource-reservation"  # the chart's global.resourceReservation.namespace / serviceAccount


def kai_reservation_service_account() -> dict[str, Any]:
    """The ServiceAccount KAI's resource-reservation pods use, as the chart would render it (its Namespace is one of
    the stack's namespaces: components/namespaces.py)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": KAI_RESERVATION,
            "namespace": KAI_RESERVATION,
            "labels": {"app.kubernetes.io/managed-by": "inference-ra"},
        },
    }


def grove_values(spec: StackSpec) -> dict[str, Any]:
    """Grove operator values: topology-aware gang scheduling follows scheduling.topologyAware."""
    if spec.scheduling.topology_aware:
        return {"config": {"topologyAwareScheduling": {"enabled": True}}}
    return {}
