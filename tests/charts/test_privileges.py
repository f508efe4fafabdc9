"""Chart pods with host access: only in a PSS-privileged namespace, and only with a documented need."""

from __future__ import annotations

import pytest

from components.catalog.privileges import PRIVILEGE_NEEDS
from components.loader import read_stack_file, spec_from_stack_file
from components.namespaces import PRIVILEGED_NAMESPACES, kubernetes_namespace_labels
from policies.workloads import pods
from stacks.charts.loaded import child_type, views_from_plan
from tests.conftest import REPO, SHIPPED_STACKS, shipped_plan


def _host_access(spec: dict) -> bool:
    return (
        any(spec.get(f) is True for f in ("hostNetwork", "hostPID", "hostIPC"))
        or any(isinstance(v, dict) and "hostPath" in v for v in spec.get("volumes") or [])
        or any((c.get("securityContext") or {}).get("privileged") for c in spec.get("containers") or [])
    )


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_privileged_chart_pod_is_documented_and_in_a_privileged_namespace(stack: str) -> None:
    documented = {(n.chart, n.namespace, n.workload) for n in PRIVILEGE_NEEDS}
    found = set()
    for view in views_from_plan(shipped_plan(stack)):
        for obj in view.objects:
            for pod in pods(child_type(str(obj.obj["apiVersion"]), obj.kind), obj.obj):
                if _host_access(dict(pod.spec)):
                    found.add((view.chart, pod.namespace, f"{obj.kind}/{obj.name}"))
    assert found, "the shipped stacks run privileged chart pods (device plugins, CSI, NFD)"
    assert found <= documented, f"undocumented privileged chart pods: {sorted(found - documented)}"
    spec = spec_from_stack_file(read_stack_file(str(REPO / "stacks" / f"Pulumi.{stack}.yaml")))
    for _chart, namespace, _workload in found:
        assert namespace in PRIVILEGED_NAMESPACES
        if namespace != "kube-system":  # kube-system is the cluster's own, not labelled by the stack
            assert kubernetes_namespace_labels(spec, namespace)["pod-security.kubernetes.io/enforce"] == "privileged"


def test_node_exporter_runs_where_pod_security_admits_it() -> None:
    """Before: in `monitoring` (PSS baseline enforced), whose admission rejects hostNetwork/hostPID/hostPath pods."""
    kps = next(v for v in views_from_plan(shipped_plan("dev")) if v.chart == "kube-prometheus-stack")
    exporter = next(o for o in kps.objects if o.kind == "DaemonSet" and "node-exporter" in o.name)
    assert exporter.namespace == "kube-system"
    monitors = [o for o in kps.objects if o.kind == "ServiceMonitor" and "node-exporter" in o.name]
    assert [m.namespace for m in monitors] == ["kube-system"]
    prometheus = next(o for o in kps.objects if o.kind == "Prometheus")
    assert prometheus.obj["spec"]["serviceMonitorNamespaceSelector"] == {}  # every namespace (prometheus-operator API)
