"""The compute compatibility matrix as data: GPU Operator ↔ Kubernetes ↔ driver branch ↔ GPU generation ↔ node OS,
the EKS accelerated AMI families, the EKS managed add-ons and the Kubernetes minors EKS serves.

The spec rule `compat-matrix` (components/rules/compute.py) checks a stack against these tables; a combination
outside them is an error that names the supported set. Builders read the same tables (AMI type, add-on names),
so what is checked is what is deployed.

Sources (each table also names its own):
- NVIDIA GPU Operator v26.7.0 "Platform Support" page: supported Kubernetes minors, driver branches and operating
  systems for driver containers; the chart's default driver 595.91.07 (deployments/gpu-operator/values.yaml at
  tag v26.7.0, ../shared/upstream/chart-values/gpu-operator.values.yaml).
- NVIDIA Data Center Driver release notes: the first branch that supports each GPU generation (Blackwell needs
  R570 or newer; Ampere/Ada/Hopper are supported from R525/R535).
- awslabs/amazon-eks-ami releases: the AL2023 NVIDIA AMIs ship the R580 driver, the NVIDIA Container Toolkit and
  the EFA installer pre-installed.
- Amazon EKS user guide, Kubernetes version lifecycle: the minors EKS serves in standard support. Add-on versions
  are looked up at deploy time (`aws eks describe-addon-versions --kubernetes-version 1.xx` shows the same list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args


@dataclass(frozen=True)
class OperatorRelease:
    version: str
    kubernetes: tuple[str, ...]  # supported Kubernetes minors
    driver_branches: tuple[int, ...]  # driver branches the operator deploys or supports pre-installed
    driver_container_os: tuple[str, ...]  # node OSes for which the operator can install the driver
    preinstalled_driver_os: tuple[str, ...]  # node OSes supported with a host (pre-installed) driver
    source: str


@dataclass(frozen=True)
class DriverBranch:
    branch: int
    generations: tuple[str, ...]  # GPU generations (GpuModel.generation) the branch supports
    source: str


@dataclass(frozen=True)
class AmiFamily:
    """An EKS accelerated AMI family (node OS on aws)."""

    node_os: str
    ami_type_x86_64: str  # eks.NodeGroup ami_type
    driver_branch: int  # NVIDIA driver branch the AMI ships
    toolkit_preinstalled: bool  # NVIDIA Container Toolkit on the AMI (operator toolkit off)
    user_data: str  # user-data format the node pools render: "nodeadm" (MIME multipart + NodeConfig)
    source: str


GPU_OPERATOR_RELEASES: dict[str, OperatorRelease] = {
    r.version: r
    for r in (
        OperatorRelease(
            "v26.7.0",
            kubernetes=("1.31", "1.32", "1.33", "1.34", "1.35"),
            driver_branches=(580, 590, 595),
            driver_container_os=("ubuntu-22.04", "ubuntu-24.04", "rhel-9"),
            preinstalled_driver_os=("al2023", "ubuntu-22.04", "ubuntu-24.04", "rhel-9"),
            source="NVIDIA GPU Operator v26.7.0 platform support; chart default driver 595.91.07",
        ),
    )
}

DRIVER_BRANCHES: dict[int, DriverBranch] = {
    b.branch: b
    for b in (
        DriverBranch(535, ("ampere", "ada", "hopper"), "NVIDIA driver R535 LTSB release notes"),
        DriverBranch(550, ("ampere", "ada", "hopper"), "NVIDIA driver R550 release notes"),
        DriverBranch(570, ("ampere", "ada", "hopper", "blackwell"), "NVIDIA driver R570 (first with Blackwell)"),
        DriverBranch(580, ("ampere", "ada", "hopper", "blackwell"), "NVIDIA driver R580 LTSB release notes"),
        DriverBranch(590, ("ampere", "ada", "hopper", "blackwell"), "NVIDIA driver R590 release notes"),
        DriverBranch(595, ("ampere", "ada", "hopper", "blackwell"), "NVIDIA driver R595 release notes"),
    )
}

AMI_FAMILIES: dict[str, AmiFamily] = {
    a.node_os: a
    for a in (
        AmiFamily(
            "al2023",
            ami_type_x86_64="AL2023_x86_64_NVIDIA",
            driver_branch=580,
            toolkit_preinstalled=True,
            user_data="nodeadm",
            source="awslabs/amazon-eks-ami AL2023 NVIDIA AMI release notes (R580, nvidia-container-toolkit, EFA)",
        ),
    )
}

# EKS managed add-ons. Their versions are not pinned here: a build EKS does not serve for the cluster's minor fails
# `pulumi up` with "InvalidParameterException: Addon version specified is not supported" (round 1 pinned kube-proxy
# builds that do not exist). The cluster builder asks EKS at deploy time for the most recent build of each add-on
# for cluster.kubernetesVersion (aws.eks.get_addon_version_output(most_recent=True), the DescribeAddonVersions
# API); a stack may pin a build explicitly in cluster.addonVersions (rule eks-addons checks its form).
# aws-ebs-csi-driver and vpc-cni get IRSA roles from the cluster builder.
EksAddon = Literal["vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver"]
EKS_ADDON_NAMES: tuple[str, ...] = get_args(EksAddon)
# Kubernetes minors EKS serves in standard support that the GPU Operator matrix above also covers (Amazon EKS user
# guide, "Understand the Kubernetes version lifecycle on EKS", standard-support calendar, read 2025-10).
EKS_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.32", "1.33", "1.34")
EKS_VERSIONS_SOURCE = "Amazon EKS user guide, Kubernetes version lifecycle (standard support), 2025-10"

# GB200 ComputeDomains: the NVIDIA DRA driver (kubernetes-sigs/dra-driver-nvidia-gpu) — the version GPU Operator
# v26.7.0 integrates — needs DRA (resource.k8s.io) served, GA in Kubernetes 1.34 and on by default (beta) in 1.32+.
DRA_MIN_KUBERNETES = "1.32"


def minor(version: str) -> tuple[int, int]:
    major, _, rest = version.partition(".")
    return int(major), int(rest.split(".")[0])
