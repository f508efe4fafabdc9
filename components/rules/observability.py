"""Observability rules: an external Prometheus needs its URL; SLO-driven autoscaling needs metrics."""

from __future__ import annotations

from collections.abc import Iterator

from components.rules import Problem, rule
from components.spec import StackSpec


@rule("prometheus-address")
def prometheus_address(spec: StackSpec) -> Iterator[Problem]:
    prom = spec.observability.prometheus
    if prom.mode == "external" and not prom.url:
        yield Problem(
            "observability.prometheus.url",
            "mode external needs the Prometheus URL",
            None,
            "set url: http://prometheus.example:9090 or mode: deploy",
        )
    if prom.mode == "deploy" and prom.url:
        yield Problem(
            "observability.prometheus.url",
            "is only used with mode external",
            prom.url,
            "remove it or set mode: external",
        )


@rule("slo-autoscaling-needs-metrics")
def slo_autoscaling_needs_metrics(spec: StackSpec) -> Iterator[Problem]:
    if spec.observability.enabled:
        return
    for i, m in enumerate(spec.serving.models):
        if m.autoscaling.mode in ("planner-sla", "keda"):
            yield Problem(
                f"serving.models[{i}].autoscaling.mode",
                f"{m.autoscaling.mode} scales on Prometheus metrics but observability is disabled",
                m.autoscaling.mode,
                "set observability.enabled: true (or an external Prometheus), or autoscaling.mode: none",
            )
