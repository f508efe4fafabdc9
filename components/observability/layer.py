"""The `observability` layer: kube-prometheus-stack (or an external Prometheus), scrape targets, alerts, dashboards.

Returns `ObservabilityOutputs`: the Prometheus URL (the Dynamo operator and Planner and the KEDA triggers read it)
and the kube-prometheus-stack chart (the Dynamo platform waits for its CRDs).
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.context import PlatformContext
from components.layering import StackRefs
from components.namespaces import model_namespace
from components.observability.alerts import rule_manifests
from components.observability.dashboards import dashboard_manifests
from components.observability.monitors import (
    dcgm_service_monitor,
    dynamo_pod_monitors,
    nats_pod_monitor,
    triton_pod_monitor,
)
from components.outputs import ObservabilityOutputs
from components.spec import StackSpec

RELEASE = "kube-prometheus-stack"

# Grafana's admin credentials: a Secret of this stack, from the stack secret `grafanaAdminPassword`, that the chart
# reads (`grafana.admin.existingSecret`). Left to the chart, the password is `randAlphaNum` unless Helm's `lookup`
# finds the Secret (grafana templates/_helpers.tpl "grafana.password"); the render after `pulumi up` differed from
# the applied one, so every preview showed a `checksum/secret` change and every `up` restarted Grafana (`make e2e`).
GRAFANA_ADMIN_SECRET = "grafana-admin"
GRAFANA_ADMIN = {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"}
GRAFANA_ADMIN_USER = "admin"


def grafana_admin_secret(namespace: str, password: Any) -> kobj.Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": kobj.metadata(GRAFANA_ADMIN_SECRET, namespace, {"app.kubernetes.io/name": "grafana"}),
        "type": "Opaque",
        "stringData": {GRAFANA_ADMIN["userKey"]: GRAFANA_ADMIN_USER, GRAFANA_ADMIN["passwordKey"]: password},
    }


GPU_OPERATOR_NAMESPACE = "gpu-operator"


def prometheus_url(spec: StackSpec) -> str | None:
    prom = spec.observability.prometheus
    if not spec.observability.enabled:
        return None
    if prom.mode == "external":
        return prom.url
    return f"http://{RELEASE}-prometheus.{prom.namespace}.svc.cluster.local:9090"


def prometheus_claim(spec: StackSpec) -> dict[str, Any]:
    """Prometheus' volume claim: it names the stack's block StorageClass (EKS >= 1.30 has no default class; on an
    existing cluster without storage.blockStorage.storageClass the cluster's default applies)."""
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{spec.observability.prometheus.storage_gi}Gi"}},
    }
    storage_class = spec.storage.block_storage.resolved_class(spec.cluster.provider)
    if storage_class:
        claim["storageClassName"] = storage_class
    return claim


def chart_values(spec: StackSpec) -> dict[str, Any]:
    """kube-prometheus-stack values; every key exists in the chart's values.yaml (validated)."""
    obs = spec.observability
    prom = obs.prometheus
    return {
        "fullnameOverride": RELEASE,
        "crds": {"enabled": True},
        # No admission webhook and no operator TLS: upstream creates their Secret in a pre-install hook Job that
        # helm.v4.Chart never runs, so the operator (which mounts it) would never start (issue 16 item 3,
        # components/catalog/versions.py). PrometheusRules are checked offline instead (promql tests).
        "prometheusOperator": {"admissionWebhooks": {"enabled": False}, "tls": {"enabled": False}},
        # node-exporter needs the host's network, PID namespace and root filesystem (hostNetwork, hostPID,
        # hostPath /, /proc, /sys: charts/prometheus-node-exporter values.yaml); the monitoring namespace enforces
        # PSS baseline, which rejects such pods, so it runs in kube-system (PSS privileged, components/catalog/
        # privileges.py). Prometheus finds its ServiceMonitor there (monitor selectors span all namespaces).
        "prometheus-node-exporter": {"namespaceOverride": "kube-system"},
        "alertmanager": {"enabled": obs.alerts},
        "grafana": {
            "enabled": obs.grafana,
            "defaultDashboardsEnabled": True,
            "admin": dict(GRAFANA_ADMIN),
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                }
            },
        },
        "prometheus": {
            "prometheusSpec": {
                "retention": prom.retention,
                # pick up monitors and rules from every namespace, not only this release's
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "storageSpec": {"volumeClaimTemplate": {"spec": prometheus_claim(spec)}},
            }
        },
    }


def monitor_manifests(spec: StackSpec) -> list[kobj.Manifest]:
    ns = spec.observability.prometheus.namespace
    model_nss = sorted({model_namespace(spec, m.name) for m in spec.serving.models})
    out = []
    if spec.gpu_operator.dcgm_exporter:
        out.append(dcgm_service_monitor(ns, GPU_OPERATOR_NAMESPACE))
    out += dynamo_pod_monitors(spec, model_nss, ns)
    if spec.serving.models:
        out.append(nats_pod_monitor(ns, spec.serving.dynamo.namespace))
    if spec.serving.triton:
        out.append(triton_pod_monitor(ns, [t.namespace for t in spec.serving.triton]))
    return out


def build(ctx: PlatformContext, parent: pulumi.Resource) -> ObservabilityOutputs:
    spec = ctx.spec
    obs = spec.observability
    if not obs.enabled:
        return ObservabilityOutputs()
    ns = obs.prometheus.namespace
    deps: list[pulumi.Resource] = []
    chart: pulumi.Resource | None = None
    if obs.prometheus.mode == "deploy":
        block = ctx.storage.block_storage_class  # its claim's StorageClass (aws)
        chart_deps: list[pulumi.Resource] = [block] if block is not None else []
        if obs.grafana:
            password = ctx.secrets.get("grafanaAdminPassword")
            if password is None:
                raise pulumi.RunError(
                    "Grafana needs its admin password as a stack secret: "
                    "pulumi config set --secret inference-ra:grafanaAdminPassword <password> "
                    "(or set observability.grafana: false)"
                )
            secret = grafana_admin_secret(ns, pulumi.Output.secret(password))
            chart_deps.append(kobj.apply(secret, ctx.k8s_opts(parent, namespace=ns)))
        chart = kobj.chart(
            RELEASE,
            chart_ref=CHARTS["kube-prometheus-stack"],
            namespace=ns,
            values=chart_values(spec),
            opts=ctx.k8s_opts(parent, namespace=ns, depends_on=chart_deps),
        )
        deps.append(chart)
    if obs.prometheus.operator_crds or obs.prometheus.mode == "deploy":
        manifests = monitor_manifests(spec) + (rule_manifests(spec, ns) if obs.alerts else [])
        for m in manifests:
            kobj.apply(m, ctx.k8s_opts(parent, depends_on=deps, namespace=ns))
    if obs.grafana:
        for m in dashboard_manifests(spec, ns):
            kobj.apply(m, ctx.k8s_opts(parent, namespace=ns))
    return ObservabilityOutputs(prometheus_url=prometheus_url(spec), prometheus_stack=chart)


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> ObservabilityOutputs:
    """In a later layer stack: the Prometheus URL, from the spec; the chart is in the platform stack
    (components/layering.py)."""
    return ObservabilityOutputs(prometheus_url=prometheus_url(ctx.spec) if ctx.spec.observability.enabled else None)
