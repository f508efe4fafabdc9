"""The Pod Security Standards level each chart's pods need in the namespace they run in: the pods the chart renders
(with our values, components/catalog/chart_security.py) and the pods its operator creates there at run time, which
no plan shows. components/namespaces.py `namespace_pss_level` labels each namespace with the loosest level these
entries (and the stack's own pods) need; the policy rule pod-security-least-privilege counts the run-time pods of
every chart the plan deploys; tests/charts/test_pod_levels.py holds `rendered` to the rendered pods of the shipped
stacks (a chart whose pods get stricter or looser fails until this table follows).
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.pss import LEVELS, stricter


def loosest(*levels: str) -> str:
    """The loosest of `levels` (restricted when none)."""
    out = "restricted"
    for level in levels:
        if level and stricter(out, level):
            out = level
    return out


@dataclass(frozen=True)
class ChartPods:
    chart: str  # the chart's name (Chart.yaml, as plan.json `rendered.chart`)
    rendered: str  # the loosest level a pod the chart renders into its release namespace needs
    why: str  # what makes `rendered` what it is
    runtime: str = "restricted"  # what the pods its operator creates at run time in the release namespace need
    runtime_pods: str = ""  # those pods and the source of their security context ("" = none)

    def __post_init__(self) -> None:
        assert self.rendered in LEVELS and self.runtime in LEVELS, self

    @property
    def needs(self) -> str:
        return loosest(self.rendered, self.runtime)


@dataclass(frozen=True)
class OperatorNamespace:
    """A namespace besides its release namespace where a chart's operator creates pods at run time."""

    chart: str
    namespace: str
    level: str
    pods: str  # which pods, and the source of their security context


_GPU_OPERANDS = (
    "ClusterPolicy operands (driver, container toolkit, device plugin, DCGM exporter, MIG manager, validator "
    "DaemonSets) run privileged with host paths: NVIDIA/gpu-operator assets/state-*/ DaemonSets, e.g. "
    "assets/state-driver/0500_daemonset.yaml `privileged: true`"
)
_NIC_OPERANDS = (
    "NicClusterPolicy operands (MOFED driver container, RDMA shared device plugin, secondary-network CNI plugins, "
    "NV-IPAM) run privileged with host paths/hostNetwork: Mellanox/network-operator manifests/state-ofed-driver/"
    "0050_ofed-driver-ds.yaml and manifests/state-rdma-shared-device-plugin/ `privileged: true`"
)

CHART_PODS: dict[str, ChartPods] = {
    c.chart: c
    for c in (
        ChartPods(
            "gpu-operator",
            "privileged",
            "NFD worker mounts host paths (components/catalog/privileges.py)",
            runtime="privileged",
            runtime_pods=_GPU_OPERANDS,
        ),
        ChartPods(
            "network-operator",
            "restricted",
            "the operator Deployment only (NFD comes from the GPU Operator)",
            runtime="privileged",
            runtime_pods=_NIC_OPERANDS,
        ),
        ChartPods(
            "dra-driver-nvidia-gpu",
            "privileged",
            "the kubelet plugin is privileged with host paths (components/catalog/privileges.py)",
        ),
        ChartPods(
            "dynamo-platform",
            "restricted",
            "operator and NATS hardened through values (components/catalog/chart_security.py); the operator's "
            "graph pods run in the graphs' namespaces",
        ),
        ChartPods(
            "kai-scheduler",
            "restricted",
            "kai-operator hardened through global.securityContext / global.podSecurityContext",
            runtime="restricted",
            runtime_pods="scheduler, binder, admission, pod-grouper, queue controller, pod grouper: the operator puts "
            "Config spec.global.securityContext (= our global.securityContext, seccomp at container level) on every "
            "KAI container (kai-scheduler chart templates/_helpers.tpl:93, crds/kai.scheduler_configs.yaml)",
        ),
        ChartPods(
            "grove-charts",
            "baseline",
            "grove-operator container has no securityContext and the chart reads no value for one (upstream gap, "
            "components/catalog/upstream_defects.py POLICY_GAPS)",
        ),
        ChartPods("keda", "restricted", "keda's default values set the restricted contexts"),
        ChartPods(
            "kube-prometheus-stack",
            "restricted",
            "every pod in the release namespace sets restricted contexts; node-exporter runs in kube-system",
            runtime="restricted",
            runtime_pods="Prometheus and Alertmanager StatefulSets the prometheus-operator creates from their CRs: "
            "pod securityContext from prometheus.prometheusSpec.securityContext / alertmanager.alertmanagerSpec."
            "securityContext (values.yaml: runAsNonRoot, runAsUser 1000, seccomp RuntimeDefault); containers "
            "allowPrivilegeEscalation false, drop ALL (prometheus-operator pkg/prometheus/statefulset.go)",
        ),
        ChartPods(
            "aws-efa-k8s-device-plugin",
            "privileged",
            "device plugin: privileged, hostNetwork (kube-system; components/catalog/privileges.py)",
        ),
        ChartPods("aws-fsx-csi-driver", "privileged", "CSI node plugin: privileged (kube-system)"),
    )
}

OPERATOR_NAMESPACES: tuple[OperatorNamespace, ...] = (
    OperatorNamespace(
        "kai-scheduler",
        "kai-resource-reservation",
        "baseline",
        "GPU reservation pods the binder creates per shared GPU (image `resourcereservation`) with no "
        "securityContext: they pass baseline, not restricted (KAI-scheduler pkg/binder/binding/resourcereservation "
        "`createResourceReservationPod`). The chart creates the namespace (templates/services/"
        "resourcereservation-namespace.yaml) with our labels (global.resourceReservation.namespaceLabels).",
    ),
)


def runtime_levels(chart: str, release_namespace: str) -> dict[str, str]:
    """{namespace: level} the run-time pods of `chart`'s operator need."""
    out: dict[str, str] = {}
    entry = CHART_PODS.get(chart)
    if entry is not None and entry.runtime_pods:
        out[release_namespace] = entry.runtime
    for o in OPERATOR_NAMESPACES:
        if o.chart == chart:
            out[o.namespace] = loosest(out.get(o.namespace, ""), o.level)
    return out
