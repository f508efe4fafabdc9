"""Observability: rule and panel expressions parse, reference known metrics, and carry the spec's SLO numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import promql_parser
import pytest

from components.loader import SpecError, spec_from_mapping
from components.observability.alerts import fleet_alerts, rule_manifests, slo_alerts
from components.observability.dashboards import dashboard_manifests
from components.observability.dcgm import DCGM_METRICS_CONFIGMAP
from components.observability.layer import chart_values, prometheus_url
from components.observability.metrics import DCGM_COUNTERS, KNOWN_METRICS
from components.spec import StackSpec
from tests.conftest import SHIPPED_STACKS, shipped_plan, stack_config


def spec_of(name: str) -> StackSpec:
    return shipped_plan(name).spec


def metric_names(node: Any) -> Iterator[str]:
    """Every metric name a PromQL AST references."""
    name = getattr(node, "name", None)
    if type(node).__name__ == "VectorSelector" and name:
        yield name
    for attr in ("lhs", "rhs", "expr", "vector_selector", "param"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, (str, int, float)):
            yield from metric_names(child)
    for arg in getattr(node, "args", None) or []:
        yield from metric_names(arg)


def all_rule_exprs(spec: StackSpec) -> list[str]:
    return [r["expr"] for m in rule_manifests(spec, "monitoring") for g in m["spec"]["groups"] for r in g["rules"]]


def all_panel_exprs(spec: StackSpec) -> list[str]:
    out = []
    for cm in dashboard_manifests(spec, "monitoring"):
        (doc,) = cm["data"].values()
        for panel in json.loads(doc)["panels"]:
            out += [t["expr"] for t in panel["targets"]]
    return out


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_expression_parses_and_uses_known_metrics(stack: str) -> None:
    exprs = all_rule_exprs(spec_of(stack)) + all_panel_exprs(spec_of(stack))
    assert len(exprs) > 10
    for expr in exprs:
        ast = promql_parser.parse(expr)  # raises ValueError on a syntax error
        names = set(metric_names(ast))
        assert names, expr
        assert names <= KNOWN_METRICS | {n + "_bucket" for n in KNOWN_METRICS}, (expr, names - KNOWN_METRICS)


def test_metric_walker_finds_names() -> None:
    ast = promql_parser.parse("sum(rate(a_total[5m])) / on() group_left count(b offset 5m) > 3")
    assert set(metric_names(ast)) == {"a_total", "b"}


def test_a_broken_expression_fails_to_parse() -> None:
    with pytest.raises(ValueError):
        promql_parser.parse("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))")


def test_slo_thresholds_equal_the_spec() -> None:
    spec = spec_of("aws-h100")
    model = spec.serving.models[0]
    alerts = {a.name: a for a in slo_alerts(spec, model)}
    assert model.slo is not None and (model.slo.ttft_ms, model.slo.itl_ms) == (500, 30)
    assert alerts["InferenceTTFTAboveSLO"].expr.endswith("> 0.5")
    assert alerts["InferenceITLAboveSLO"].expr.endswith("> 0.03")
    assert alerts["InferenceErrorRateAboveSLO"].expr.endswith("> 0.01")
    assert 'namespace="dynamo", graph="llama-70b"' in alerts["InferenceTTFTAboveSLO"].expr
    assert "dynamo_frontend_time_to_first_token_seconds_bucket" in alerts["InferenceTTFTAboveSLO"].expr


def test_model_without_slo_gets_no_slo_alerts() -> None:
    cfg = stack_config("dev")
    del cfg["serving"]["models"][0]["slo"]
    spec = spec_from_mapping(cfg)
    assert slo_alerts(spec, spec.serving.models[0]) == []
    assert [m["metadata"]["name"] for m in rule_manifests(spec, "monitoring")] == ["inference-ra-fleet"]


def test_fleet_rules_cover_gpu_failures() -> None:
    names = {a.name for a in fleet_alerts(spec_of("ncp-ib"))}
    assert names == {
        "GPUXidError",
        "GPUFellOffTheBus",
        "GPUUncorrectableECC",
        "GPUThermalThrottling",
        "GPUNodeNotReady",
        "GPUWorkloadsPending",
    }
    pending = next(a for a in fleet_alerts(spec_of("ncp-ib")) if a.name == "GPUWorkloadsPending")
    assert 'namespace=~"team-a|team-b"' in pending.expr


def test_model_dashboard_draws_the_slo_line() -> None:
    spec = spec_of("aws-h100")
    cm = next(
        m for m in dashboard_manifests(spec, "monitoring") if m["metadata"]["name"] == "dashboard-model-llama-70b"
    )
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    doc = json.loads(cm["data"]["dashboard-model-llama-70b.json"])
    ttft = next(p for p in doc["panels"] if p["title"].startswith("Time to first token"))
    assert ttft["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.5
    assert {p["gridPos"]["w"] for p in doc["panels"]} == {12}


def test_chart_values_carry_retention_and_storage() -> None:
    values = chart_values(spec_of("aws-h100"))
    ps = values["prometheus"]["prometheusSpec"]
    assert ps["retention"] == "30d"
    assert ps["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "500Gi"
    assert ps["podMonitorSelectorNilUsesHelmValues"] is False


def test_layer_renders_monitors_rules_dashboards() -> None:
    plan = shipped_plan("aws-h100")
    kinds = {(r.inputs.get("kind"), r.inputs.get("metadata", {}).get("name")) for r in plan.resources}
    assert ("PodMonitor", "dynamo-frontend") in kinds and ("PodMonitor", "dynamo-kvbm") in kinds
    assert ("ServiceMonitor", "nvidia-dcgm-exporter") in kinds
    assert ("PrometheusRule", "slo-llama-70b") in kinds and ("ConfigMap", "dashboard-gpu-fleet") in kinds
    assert ("ConfigMap", DCGM_METRICS_CONFIGMAP) in kinds
    chart = next(
        r for r in plan.resources if r.type == "kubernetes:helm.sh/v4:Chart" and r.name == "kube-prometheus-stack"
    )
    assert chart.inputs["version"] == "88.5.3"


def test_dcgm_counter_set_covers_every_dcgm_metric_used() -> None:
    used = {
        n
        for s in SHIPPED_STACKS
        for e in all_rule_exprs(spec_of(s)) + all_panel_exprs(spec_of(s))
        for n in metric_names(promql_parser.parse(e))
        if n.startswith("DCGM_")
    }
    assert used <= {name for name, _, _ in DCGM_COUNTERS}


def test_external_prometheus_url_is_used() -> None:
    cfg = stack_config("dev")
    cfg["observability"] = {"prometheus": {"mode": "external", "url": "http://prom.example:9090"}}
    assert prometheus_url(spec_from_mapping(cfg)) == "http://prom.example:9090"
    assert prometheus_url(spec_of("dev")) == "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090"


def test_rejects_external_prometheus_without_url() -> None:
    cfg = stack_config("dev")
    cfg["observability"] = {"prometheus": {"mode": "external"}}
    with pytest.raises(SpecError) as info:
        spec_from_mapping(cfg)
    assert [p.path for p in info.value.problems] == ["observability.prometheus.url"]


def test_rejects_url_with_deploy_mode() -> None:
    cfg = stack_config("dev")
    cfg["observability"] = {"prometheus": {"url": "http://x:9090"}}
    with pytest.raises(SpecError, match="only used with mode external"):
        spec_from_mapping(cfg)


def test_rejects_slo_autoscaling_without_metrics() -> None:
    cfg = stack_config("aws-h100")
    cfg["observability"] = {"enabled": False}
    with pytest.raises(SpecError) as info:
        spec_from_mapping(cfg, region="us-east-2")
    assert "serving.models[0].autoscaling.mode" in [p.path for p in info.value.problems]
