"""Who and what reaches the EKS API: access entries from the spec, and the cluster security group's 443 ingress for
the sources that `pulumi up` runs from when the endpoint is private.

- Access entries (EKS user guide "Grant IAM users access to Kubernetes with EKS access entries"): one STANDARD entry
  per `cluster.accessEntries` item, with its access policy associated cluster-wide. When one of them is
  `cluster-admin`, the cluster is created without the creator's bootstrap admin
  (`accessConfig.bootstrapClusterCreatorAdminPermissions`, spec `cluster.bootstrapClusterCreatorAdminPermissions`).
- Private endpoint (EKS user guide "Cluster API server endpoint": with public access off, the API is reachable only
  from within the VPC or a connected network, and the cluster security group must admit 443 from the client): one
  ingress rule per `cluster.privateEndpointAccess` source on the cluster security group.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.context import PlatformContext

ACCESS_POLICIES: dict[str, str] = {
    "cluster-admin": "AmazonEKSClusterAdminPolicy",
    "admin": "AmazonEKSAdminPolicy",
    "edit": "AmazonEKSEditPolicy",
    "view": "AmazonEKSViewPolicy",
}


def access_policy_arn(policy: str) -> str:
    return f"arn:aws:eks::aws:cluster-access-policy/{ACCESS_POLICIES[policy]}"


def access_entries(ctx: PlatformContext, parent: pulumi.Resource, cluster: aws.eks.Cluster) -> list[pulumi.Resource]:
    """Access entries and their policy associations; returns the cluster-admin associations (the Kubernetes
    provider waits for them: without the creator's bootstrap admin they are how `pulumi up` gets in)."""
    name = ctx.spec.cluster.name
    admins: list[pulumi.Resource] = []
    for i, entry in enumerate(ctx.spec.cluster.access_entries):
        access = aws.eks.AccessEntry(
            f"{name}-access-{i}",
            cluster_name=cluster.name,
            principal_arn=entry.principal_arn,
            type="STANDARD",
            opts=ctx.aws_opts(parent),
        )
        association = aws.eks.AccessPolicyAssociation(
            f"{name}-access-{i}-{entry.policy}",
            cluster_name=cluster.name,
            principal_arn=entry.principal_arn,
            policy_arn=access_policy_arn(entry.policy),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=ctx.aws_opts(parent, depends_on=[access]),
        )
        if entry.policy == "cluster-admin":
            admins.append(association)
    return admins


def _slug(cidr: str) -> str:
    return cidr.replace(".", "-").replace("/", "-").replace(":", "-")


def endpoint_ingress(ctx: PlatformContext, parent: pulumi.Resource, cluster: aws.eks.Cluster) -> list[pulumi.Resource]:
    """443 from each declared source to the cluster security group (private endpoint only)."""
    spec = ctx.spec.cluster
    access = spec.private_endpoint_access
    if spec.endpoint_public_access or access is None:
        return []
    cluster_sg = cluster.vpc_config.cluster_security_group_id
    rules: list[pulumi.Resource] = []
    sources: list[tuple[str, str | None, str | None, str | None]] = [
        (sg, sg, None, None) for sg in access.source_security_group_ids
    ]
    sources += [(_slug(c), None, None if ":" in c else c, c if ":" in c else None) for c in access.source_cidrs]
    for slug, sg, cidr_v4, cidr_v6 in sources:
        rules.append(
            aws.vpc.SecurityGroupIngressRule(
                f"{spec.name}-api-from-{slug}",
                security_group_id=cluster_sg,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                referenced_security_group_id=sg,
                cidr_ipv4=cidr_v4,
                cidr_ipv6=cidr_v6,
                description="Kubernetes API (private endpoint) from where `pulumi up` runs",
                opts=ctx.aws_opts(parent),
            )
        )
    return rules
