"""Observability from the spec: Prometheus, scrape targets, SLO and fleet alerts, Grafana dashboards.

One SLO per model (serving.models[].slo) drives the alert thresholds here, the autoscaler targets and the
benchmark goodput thresholds, so they cannot drift apart.
"""
