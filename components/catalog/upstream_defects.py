"""Validation findings inside upstream charts that are upstream's own, triaged: `validate` reports each as an
upstream defect (with its template and this reason) instead of failing the stack. An untriaged finding inside a
chart fails like any other. Keep every entry tied to a chart version, a template and the upstream source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UpstreamDefect:
    chart: str  # catalog chart name
    version: str
    template: str  # template path inside the chart (as Helm names it)
    message: str  # a substring of the finding's message
    reason: str  # why it is upstream's and what it means for the deployment


UPSTREAM_DEFECTS: tuple[UpstreamDefect, ...] = ()
