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


@dataclass(frozen=True)
class PolicyGap:
    """A policy finding on a chart pod that no value of the chart can fix (the template has no knob): exempted
    from its rule by name, with the reason; docs/charts.md lists them."""

    rule: str
    chart: str
    container: str  # `<namespace>/<Kind>/<name>/<container>`
    reason: str
    controls: tuple[str, ...] = ()  # rule pod-hardening: the PSS controls (pss.Violation.control) left open


POLICY_GAPS: tuple[PolicyGap, ...] = (
    PolicyGap(
        "container-resources",
        "dynamo-platform",
        "dynamo-system/Deployment/dynamo-platform-dynamo-operator-controller-manager/crd-apply",
        "dynamo-operator 1.4.0 templates/deployment.yaml renders the crd-apply init container without resources and "
        "reads no value for them; it runs once per operator start (applies the Dynamo CRDs).",
    ),
    PolicyGap(
        "container-resources",
        "dra-driver-nvidia-gpu",
        "nvidia-dra-driver/DaemonSet/dra-driver-nvidia-gpu-kubelet-plugin/init-container",
        "dra-driver-nvidia-gpu 0.4.1 values.yaml has kubeletPlugin.containers.init.resources, but "
        "templates/kubeletplugin.yaml never reads it (a value without a reader); the init container waits for the "
        "driver root and exits.",
    ),
    PolicyGap(
        "pod-hardening",
        "grove-charts",
        "grove-system/Deployment/grove-operator/grove-operator",
        "grove-charts v0.1.0-alpha.11 templates/deployment.yaml renders the grove-operator container without a "
        "securityContext and reads no value for one (the pod gets only seccompProfile RuntimeDefault, hard-coded); "
        "the namespace enforces baseline for it (components/catalog/pod_levels.py).",
        ("Capabilities", "Privilege Escalation", "Running as Non-root"),
    ),
)
