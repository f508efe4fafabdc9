"""The compute compatibility matrix as data: GPU Operator ↔ Kubernetes ↔ driver branch ↔ GPU generation ↔ node OS,
the EKS accelerated AMI families, and the EKS managed add-ons pinned per Kubernetes version.

The spec rule `compat-matrix` (components/rules/compute.py) checks a stack against these tables; a combination
outside them is an error that names the supported set. Builders read the same tables (AMI type, add-on versions),
so what is checked is what is deployed.

Sources (each table also names its own):
- NVIDIA GPU Operator v26.7.0 "Platform Support" page: supported Kubernetes minors, driver branches and operating
  systems for driver containers; the chart's default driver 595.91.07 (deployments/gpu-operator/values.yaml at
  tag v26.7.0, ../shared/upstream/chart-values/gpu-operator.values.yaml).
- NVIDIA Data Center Driver release notes: the first branch that supports each GPU generation (Blackwell needs
  R570 or newer; Ampere/Ada/Hopper are supported from R525/R535).
- awslabs/amazon-eks-ami releases: the AL2023 NVIDIA AMIs ship the R580 driver, the NVIDIA Container Toolkit and
  the EFA installer pre-installed.
- Amazon EKS user guide, add-on version tables (managing-vpc-cni, managing-coredns, managing-kube-proxy,
  ebs-csi) — re-check with `aws eks describe-addon-versions --kubernetes-version 1.xx` when bumping.
"""

from __future__ import annotations

from dataclasses import dataclass


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

# EKS managed add-ons pinned per Kubernetes minor. aws-ebs-csi-driver gets an IRSA role from the cluster builder.
EKS_ADDON_NAMES: tuple[str, ...] = ("vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver")
EKS_ADDONS: dict[str, dict[str, str]] = {
    "1.32": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.32.6-eksbuild.13",
        "coredns": "v1.11.4-eksbuild.22",
        "aws-ebs-csi-driver": "v1.50.1-eksbuild.1",
    },
    "1.33": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.33.3-eksbuild.11",
        "coredns": "v1.12.4-eksbuild.1",
        "aws-ebs-csi-driver": "v1.50.1-eksbuild.1",
    },
    "1.34": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.34.0-eksbuild.5",
        "coredns": "v1.12.4-eksbuild.1",
        "aws-ebs-csi-driver": "v1.50.1-eksbuild.1",
    },
}
EKS_ADDONS_SOURCE = "Amazon EKS user guide add-on version tables (vpc-cni, kube-proxy, coredns, ebs-csi), 2025-10"

# GB200 ComputeDomains: the NVIDIA DRA driver (kubernetes-sigs/dra-driver-nvidia-gpu) — the version GPU Operator
# v26.7.0 integrates — needs DRA (resource.k8s.io) served, GA in Kubernetes 1.34 and on by default (beta) in 1.32+.
DRA_MIN_KUBERNETES = "1.32"


def minor(version: str) -> tuple[int, int]:
    major, _, rest = version.partition(".")
    return int(major), int(rest.split(".")[0])
