"""`inference-ra:cluster` — where the platform runs: a new EKS cluster or an existing (bare-metal) cluster."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.spec.base import SpecModel
from components.spec.types import MAX_NODES, Cidr, UniqueList


class SystemNodes(SpecModel):
    instance_type: str = Field("m7i.2xlarge", description="EC2 instance type of the CPU node group for operators.")
    min: int = Field(2, ge=1, le=MAX_NODES, description="Minimum CPU system nodes.")
    desired: int = Field(2, ge=1, le=MAX_NODES, description="Desired CPU system nodes.")
    max: int = Field(4, ge=1, le=MAX_NODES, description="Maximum CPU system nodes.")


class AccessEntry(SpecModel):
    principal_arn: str = Field(description="IAM role or user ARN granted access to the cluster.")
    policy: Literal["cluster-admin", "admin", "edit", "view"] = Field(
        "view", description="EKS access policy associated cluster-wide."
    )


class ClusterSpec(SpecModel):
    provider: Literal["aws", "existing"] = Field(
        description="`aws` creates an EKS cluster from native pulumi_aws.eks resources; `existing` targets a "
        "cluster reached through the kubeconfig in the secret config key `inference-ra:kubeconfig`."
    )
    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$", description="Cluster name; prefix of cloud resource names."
    )
    kubernetes_version: str = Field(
        "1.33", pattern=r"^1\.\d{2}$", description="Kubernetes minor version; validation uses its schemas."
    )
    endpoint_public_access: bool = Field(
        False, description="Expose the EKS API endpoint publicly (only to `publicAccessCidrs`)."
    )
    public_access_cidrs: UniqueList[Cidr] = Field(
        default_factory=list,
        max_length=40,
        description="CIDRs allowed to reach a public EKS endpoint; required when public (EKS allows at most 40).",
    )
    node_os: Literal["al2023", "bottlerocket", "ubuntu-22.04", "ubuntu-24.04", "rhel-9"] | None = Field(
        None,
        description="GPU node operating system; defaults to al2023 (EKS accelerated AMI) on aws and ubuntu-24.04 "
        "on existing clusters. Checked against the driver/operator compatibility matrix.",
    )
    kubeconfig_context: str | None = Field(
        None, description="Context to use from the kubeconfig of an existing cluster (default: current)."
    )
    system_nodes: SystemNodes = Field(
        default_factory=SystemNodes, description="CPU node group for operators and control components (aws)."
    )
    access_entries: list[AccessEntry] = Field(
        default_factory=list, description="EKS access entries for administrators and CI roles (aws)."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags added to every cloud resource.")
    imds_hop_limit: int = Field(
        2,
        ge=1,
        le=64,
        description="IMDSv2 (tokens required) PUT response hop limit of every node (aws). 2 lets containers that "
        "read instance metadata (NCCL/EFA topology detection, node agents) reach it; 1 confines it to the host.",
    )
    control_plane_logs: UniqueList[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = Field(
        default_factory=lambda: ["api", "audit", "authenticator"],  # type: ignore[arg-type]
        description="EKS control-plane log types sent to CloudWatch Logs (aws).",
    )

    @property
    def resolved_node_os(self) -> str:
        return self.node_os or ("al2023" if self.provider == "aws" else "ubuntu-24.04")
