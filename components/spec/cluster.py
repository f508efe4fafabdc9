"""`inference-ra:cluster` — where the platform runs: a new EKS cluster or an existing (bare-metal) cluster."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from components.catalog.compat import EksAddon
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


class PrivateEndpointAccess(SpecModel):
    source_security_group_ids: UniqueList[Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list,
        description="Security groups (of runners inside the VPC, e.g. a CI runner) admitted to the cluster security "
        "group on 443, so `pulumi up` reaches a private API endpoint from them.",
    )
    source_cidrs: UniqueList[Cidr] = Field(
        default_factory=list,
        description="CIDRs routed to the VPC (VPN, peering, transit gateway) admitted to the cluster security group "
        "on 443.",
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
        True,
        description="Expose the EKS API endpoint publicly, only to `publicAccessCidrs` (the default, so the first "
        "`pulumi up` can reach the API it creates). `false` needs a declared route: `network.existingVpc` and "
        "`privateEndpointAccess`. Nodes always use the private endpoint.",
    )
    public_access_cidrs: UniqueList[Cidr] = Field(
        default_factory=list,
        max_length=40,
        description="CIDRs allowed to reach the public endpoint (EKS allows at most 40): the egress CIDRs of whoever "
        "runs `pulumi up` (office, CI runners); required when public, never 0.0.0.0/0.",
    )
    private_endpoint_access: PrivateEndpointAccess | None = Field(
        None,
        description="Where `pulumi up` reaches a private endpoint from (aws, with network.existingVpc): each source "
        "gets an ingress rule on 443 of the cluster security group.",
    )
    addon_versions: dict[EksAddon, str] = Field(
        default_factory=dict,
        description="Explicit EKS add-on versions (e.g. kube-proxy: v1.33.5-eksbuild.2); an add-on not listed gets "
        "the most recent version EKS serves for kubernetesVersion, looked up at deploy time.",
    )
    bootstrap_cluster_creator_admin_permissions: bool | None = Field(
        None,
        description="Keep the identity that creates the cluster a cluster admin outside the access entries "
        "(EKS accessConfig; set at creation only, changing it replaces the cluster). Default: off when "
        "accessEntries has a cluster-admin entry, on otherwise.",
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
        1,
        ge=1,
        le=64,
        description="IMDSv2 (tokens required) PUT response hop limit of every node (aws). 1 keeps instance metadata, "
        "and with it the node role's credentials, away from pods on the pod network (host-network agents still "
        "reach it); nothing this stack runs needs more (docs/compute.md).",
    )
    control_plane_logs: UniqueList[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = Field(
        default_factory=lambda: ["api", "audit", "authenticator"],  # type: ignore[arg-type]
        description="EKS control-plane log types sent to CloudWatch Logs (aws).",
    )

    @property
    def resolved_bootstrap_admin(self) -> bool:
        """Whether the cluster creator keeps its bootstrap admin: explicit, else only without a cluster-admin entry."""
        if self.bootstrap_cluster_creator_admin_permissions is not None:
            return self.bootstrap_cluster_creator_admin_permissions
        return not any(e.policy == "cluster-admin" for e in self.access_entries)

    @property
    def resolved_node_os(self) -> str:
        return self.node_os or ("al2023" if self.provider == "aws" else "ubuntu-24.04")
