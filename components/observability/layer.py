"""The `observability` layer: kube-prometheus-stack (or an external Prometheus), scrape targets, alerts, dashboards.

Sets `ctx.handles["prometheus_url"]` — the Dynamo Planner, KEDA triggers and benchmark jobs read it from there.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.namespaces import model_namespace
from components.observability.alerts import rule_manifests
from components.observability.dashboards import dashboard_manifests
from components.observability.monitors import (
    dcgm_service_monitor,
    dynamo_pod_monitors,
    nats_pod_monitor,
    triton_pod_monitor,
)
from components.platform import PlatformContext
from components.spec import StackSpec

RELEASE = "kube-prometheus-stack"
NODE_EXPORTER_NAMESPACE = "kube-system"  # a namespace that enforces the `privileged` Pod Security level


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


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    return {"resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}}


# Requests and memory limits of the chart's own workloads: the policy pack's mandatory `container-resources` rule
# applies to every object a chart renders (`pulumi preview --policy-pack` evaluates chart children; found by
# `make e2e`). Starting points for a GPU cluster's monitoring stack; raise kube-state-metrics and Grafana with the
# object and dashboard count. Readers: the `resources` value of each subchart's Deployment/DaemonSet template
# (grafana templates/_pod.tpl incl. `sidecar.resources` for both sidecars, kube-state-metrics
# templates/deployment.yaml, prometheus-node-exporter templates/daemonset.yaml, kube-prometheus-stack
# templates/prometheus-operator/deployment.yaml).
CHART_RESOURCES: dict[str, dict[str, Any]] = {
    "grafana": _resources("100m", "256Mi", "512Mi"),
    "grafana-sidecar": _resources("50m", "64Mi", "128Mi"),
    "kube-state-metrics": _resources("100m", "128Mi", "512Mi"),
    "prometheus-node-exporter": _resources("50m", "32Mi", "64Mi"),
    "prometheusOperator": _resources("100m", "128Mi", "512Mi"),
}
GPU_OPERATOR_NAMESPACE = "gpu-operator"


def prometheus_url(spec: StackSpec) -> str | None:
    prom = spec.observability.prometheus
    if not spec.observability.enabled:
        return None
    if prom.mode == "external":
        return prom.url
    return f"http://{RELEASE}-prometheus.{prom.namespace}.svc.cluster.local:9090"


def chart_values(spec: StackSpec) -> dict[str, Any]:
    """kube-prometheus-stack values; every key exists in the chart's values.yaml (validated)."""
    obs = spec.observability
    prom = obs.prometheus
    return {
        "fullnameOverride": RELEASE,
        "crds": {"enabled": True},
        "alertmanager": {"enabled": obs.alerts},
        "grafana": {
            "enabled": obs.grafana,
            "defaultDashboardsEnabled": True,
            **CHART_RESOURCES["grafana"],
            "admin": dict(GRAFANA_ADMIN),
            "sidecar": {
                **CHART_RESOURCES["grafana-sidecar"],
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                },
            },
        },
        # node-exporter needs hostNetwork, hostPID and hostPath (/proc, /sys, /) by design: PodSecurity admission
        # rejects it in the monitoring namespace (enforce: baseline, components/platform.py), so it runs in
        # kube-system (enforce: privileged); its own ServiceMonitor follows it there and Prometheus selects
        # monitors in every namespace. Reader: prometheus-node-exporter chart, templates/_helpers.tpl
        # "prometheus-node-exporter.namespace". Found by `make e2e` (tests/e2e/test_findings.py).
        "prometheus-node-exporter": {
            "namespaceOverride": NODE_EXPORTER_NAMESPACE,
            **CHART_RESOURCES["prometheus-node-exporter"],
        },
        "kube-state-metrics": CHART_RESOURCES["kube-state-metrics"],
        "prometheusOperator": CHART_RESOURCES["prometheusOperator"],
        "prometheus": {
            "prometheusSpec": {
                "retention": prom.retention,
                # pick up monitors and rules from every namespace, not only this release's
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{prom.storage_gi}Gi"}},
                        }
                    }
                },
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


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    spec = ctx.spec
    obs = spec.observability
    if not obs.enabled:
        return
    ns = obs.prometheus.namespace
    ctx.handles["prometheus_url"] = prometheus_url(spec)
    deps: list[pulumi.Resource] = []
    if obs.prometheus.mode == "deploy":
        chart_deps: list[pulumi.Resource] = []
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
            opts=ctx.k8s_opts(parent, depends_on=chart_deps, namespace=ns),
        )
        deps.append(chart)
        ctx.handles["prometheus_stack"] = chart
    if obs.prometheus.operator_crds or obs.prometheus.mode == "deploy":
        manifests = monitor_manifests(spec) + (rule_manifests(spec, ns) if obs.alerts else [])
        for m in manifests:
            kobj.apply(m, ctx.k8s_opts(parent, depends_on=deps, namespace=ns))
    if obs.grafana:
        for m in dashboard_manifests(spec, ns):
            kobj.apply(m, ctx.k8s_opts(parent, namespace=ns))
