"""The NVIDIA GPU Operator chart, and for GB200 NVL72 pools the NVIDIA DRA driver with a ComputeDomain.

Values are typed by the spec and every key exists in the chart's values.yaml (tests check it against
../shared/upstream/chart-values/gpu-operator.values.yaml):
- driver: pre-installed on the EKS accelerated AMI (off), installed by the operator on bare metal (on, pinned);
  `driver.rdma` from the fabric (components/fabric.py: GPUDirect RDMA on InfiniBand/RoCE or `gpuOperator.rdma`,
  `useHostMofed` with `fabric.driver: host`); `nfd.enabled` only when the GPU Operator is the cluster's NFD;
- GDS and GDRCopy: containers of the operator's driver pods, so only where the operator installs the driver;
- toolkit: off where the AMI ships the NVIDIA Container Toolkit; device plugin, GFD, DCGM exporter (ServiceMonitor
  when observability is on), node status exporter, MIG manager (cluster-wide strategy), GDS, GDRCopy, CDI;
- daemonsets tolerate the GPU taint and every extra pool taint.

GB200 ComputeDomains (IMEX over multi-node NVLink) use the standalone NVIDIA DRA driver chart
(`dra-driver-nvidia-gpu` 0.4.1, oci://registry.k8s.io/dra-driver-nvidia/charts) with only its computeDomains part
on: GPUs stay with the operator's device plugin. The GPU Operator v26.7.0 chart can also run that driver, but only
through its GPUCluster CR, which replaces ClusterPolicy cluster-wide and is a technology preview. The
ComputeDomain CRD ships in the gpu-operator chart's crds/ (resource.nvidia.com/v1beta1), so the DRA chart skips
its own CRDs.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.constants import GPU_TOLERATION
from components.context import PlatformContext
from components.fabric import gpu_operator_deploys_nfd, gpu_operator_rdma
from components.observability.dcgm import DCGM_METRICS_CONFIGMAP, dcgm_configmap
from components.rules.compute import driver_managed_by_operator
from components.spec import GpuPoolSpec, StackSpec
from gpu_nodepools.labels import COMPUTE_DOMAIN_LABEL, pool_taints

GPU_OPERATOR_NAMESPACE = "gpu-operator"
DRA_NAMESPACE = "nvidia-dra-driver"
OPERATOR_DRIVER_ROOT = "/run/nvidia/driver"  # where the operator's driver container exposes the driver


def operator_driver(spec: StackSpec) -> bool:
    return driver_managed_by_operator(spec)


def toolkit_enabled(spec: StackSpec) -> bool:
    """The container toolkit: off where the AMI already ships it (EKS accelerated AMI)."""
    from components.catalog.compat import AMI_FAMILIES

    if spec.cluster.provider == "aws":
        ami = AMI_FAMILIES.get(spec.cluster.resolved_node_os)
        if ami is not None and ami.toolkit_preinstalled:
            return False
    return spec.gpu_operator.toolkit


def mig_strategy(spec: StackSpec) -> str | None:
    """The cluster-wide MIG strategy (None: no pool uses MIG). `mig-profiles` rejects conflicting pools."""
    strategies = {p.mig.strategy for p in spec.gpu_pools if p.mig.strategy != "none"}
    if not strategies:
        return None
    return "mixed" if "mixed" in strategies else "single"


def daemonset_tolerations(spec: StackSpec) -> list[dict[str, str]]:
    tolerations = [dict(GPU_TOLERATION)]
    for pool in spec.gpu_pools:
        for t in pool_taints(pool)[1:]:
            tol = {"key": t["key"], "operator": "Equal", "value": t["value"], "effect": t["effect"]}
            if tol not in tolerations:
                tolerations.append(tol)
    return tolerations


def gpu_operator_values(spec: StackSpec) -> dict[str, Any]:
    op = spec.gpu_operator
    driver = operator_driver(spec)
    mig = mig_strategy(spec)
    driver_values: dict[str, Any] = {"enabled": driver}
    if driver:
        driver_values["version"] = op.driver.version
        driver_values["rdma"] = gpu_operator_rdma(spec)  # the fabric's answer (components/fabric.py)
        # A driver reload drains GPU pods; never more than the pools allow at once.
        driver_values["upgradePolicy"] = {
            "autoUpgrade": True,
            "maxParallelUpgrades": min(p.max_unavailable for p in spec.gpu_pools),
        }
    values: dict[str, Any] = {
        "cdi": {"enabled": op.cdi},
        "nfd": {"enabled": gpu_operator_deploys_nfd(spec)},  # one NFD per cluster (fabric.nfd)
        "daemonsets": {"tolerations": daemonset_tolerations(spec)},
        "driver": driver_values,
        "toolkit": {"enabled": toolkit_enabled(spec)},
        "devicePlugin": {"enabled": op.device_plugin},
        "gfd": {"enabled": True},
        "dcgmExporter": dcgm_exporter_values(spec),
        "nodeStatusExporter": {"enabled": op.node_status_exporter},
        "migManager": {"enabled": mig is not None},
        # nvidia-fs (GDS) and gdrdrv run as containers of the operator's driver pods: only with its driver.
        "gds": {"enabled": op.gds and driver},
        "gdrcopy": {"enabled": op.gdrcopy and driver},
        # the chart's pre-upgrade CRD Job is a Helm hook helm.v4.Chart never runs; the chart resource applies and
        # updates crds/ itself (components/catalog/versions.py, docs/charts.md)
        "operator": {"upgradeCRD": False},
    }
    if mig is not None:
        values["mig"] = {"strategy": mig}
    if op.validator:
        # Run a CUDA workload on each node as part of plugin validation, not only the device checks.
        values["validator"] = {"plugin": {"env": [{"name": "WITH_WORKLOAD", "value": "true"}]}}
    return values


def compute_domain_pools(spec: StackSpec) -> list[GpuPoolSpec]:
    return [p for p in spec.gpu_pools if p.compute_domain]


def dra_resource_api(kubernetes_version: str) -> str:
    """The resource.k8s.io version the cluster serves: v1 from Kubernetes 1.34 (DRA GA), v1beta2 in 1.33, v1beta1
    in 1.32. The chart picks the highest version Helm's `.Capabilities` has, and Helm's default API set (client
    side, as helm.v4.Chart renders) includes v1 whatever the cluster serves: so the stack sets it."""
    minor = int(kubernetes_version.split(".")[1])
    return (
        "resource.k8s.io/v1" if minor >= 34 else "resource.k8s.io/v1beta2" if minor == 33 else "resource.k8s.io/v1beta1"
    )


def dra_driver_values(spec: StackSpec) -> dict[str, Any]:
    """Minimal values of the DRA driver chart: ComputeDomains only, on the ComputeDomain pools' nodes."""
    return {
        "resourceApiVersion": dra_resource_api(spec.cluster.kubernetes_version),
        "nvidiaDriverRoot": OPERATOR_DRIVER_ROOT if operator_driver(spec) else "/",
        "resources": {"gpus": {"enabled": False}, "computeDomains": {"enabled": True}},
        "kubeletPlugin": {"nodeSelector": {COMPUTE_DOMAIN_LABEL: "true"}},
    }


def compute_domain_names(pool: GpuPoolSpec) -> tuple[str, str]:
    """(ComputeDomain name, ResourceClaimTemplate name) of a pool; serving pods claim the template."""
    return f"{pool.name}-nvlink", f"{pool.name}-nvlink-channel"


def compute_domain_namespaces(spec: StackSpec, pool: GpuPoolSpec) -> list[str]:
    """Namespaces that need the pool's ComputeDomain: those of the models served on it (claims are namespaced)."""
    from components.namespaces import model_namespace

    return sorted({model_namespace(spec, m.name) for m in spec.serving.models if m.pool == pool.name})


def compute_domain(pool: GpuPoolSpec, namespace: str) -> kobj.Manifest:
    """A ComputeDomain for the pool's NVLink domain. numNodes 0: the DRA driver's default IMEX daemons with DNS
    names start each daemon as soon as its node joins (the CRD recommends 0 in that mode)."""
    name, template = compute_domain_names(pool)
    return {
        "apiVersion": "resource.nvidia.com/v1beta1",
        "kind": "ComputeDomain",
        "metadata": kobj.metadata(name, namespace, {"inference-ra.nvidia.com/pool": pool.name}),
        "spec": {
            "numNodes": 0,
            "channel": {"resourceClaimTemplate": {"name": template}, "allocationMode": "Single"},
        },
    }


def dcgm_exporter_values(spec: StackSpec) -> dict[str, Any]:
    """DCGM exporter: with observability on, our counter set (every metric the alerts and dashboards use; a custom
    CSV replaces the default set) and no chart ServiceMonitor (the observability layer renders one with pool
    labels). `config` is a documented, commented-out key of the chart's values.yaml."""
    op = spec.gpu_operator
    values: dict[str, Any] = {"enabled": op.dcgm_exporter}
    if op.dcgm_exporter and spec.observability.enabled:
        values["serviceMonitor"] = {"enabled": False}
        values["config"] = {"name": DCGM_METRICS_CONFIGMAP}
    return values


def compute_domain_map(spec: StackSpec) -> dict[str, dict[str, tuple[str, str]]]:
    """{pool: {namespace: (ComputeDomain name, ResourceClaimTemplate name)}} of the GB200 pools."""
    return {
        pool.name: {ns: compute_domain_names(pool) for ns in compute_domain_namespaces(spec, pool)}
        for pool in compute_domain_pools(spec)
        if compute_domain_namespaces(spec, pool)
    }


def build_gpu_operator(
    ctx: PlatformContext, parent: pulumi.Resource, depends_on: list[pulumi.Resource]
) -> tuple[pulumi.Resource, dict[str, dict[str, tuple[str, str]]]]:
    """The GPU Operator chart and, for GB200 pools, the DRA driver and ComputeDomains: (chart, {pool: {namespace:
    (ComputeDomain name, ResourceClaimTemplate name)}})."""
    spec = ctx.spec
    if spec.gpu_operator.dcgm_exporter and spec.observability.enabled:  # the exporter mounts it at start
        depends_on = [*depends_on, kobj.apply(dcgm_configmap(), ctx.k8s_opts(parent, namespace=GPU_OPERATOR_NAMESPACE))]
    chart = kobj.chart(
        "gpu-operator",
        chart_ref=CHARTS["gpu-operator"],
        namespace=GPU_OPERATOR_NAMESPACE,
        values=gpu_operator_values(spec),
        opts=ctx.k8s_opts(parent, depends_on=depends_on, namespace=GPU_OPERATOR_NAMESPACE),
    )
    pools = compute_domain_pools(spec)
    if not pools:
        return chart, {}
    dra = kobj.chart(
        "nvidia-dra-driver",
        chart_ref=CHARTS["dra-driver-nvidia-gpu"],
        namespace=DRA_NAMESPACE,
        values=dra_driver_values(spec),
        skip_crds=True,
        opts=ctx.k8s_opts(parent, depends_on=[chart], namespace=DRA_NAMESPACE),
    )
    domains: dict[str, dict[str, tuple[str, str]]] = {}
    for pool in pools:
        for ns in compute_domain_namespaces(spec, pool):
            kobj.apply(compute_domain(pool, ns), ctx.k8s_opts(parent, depends_on=[chart, dra], namespace=ns))
            domains.setdefault(pool.name, {})[ns] = compute_domain_names(pool)
    return chart, domains
