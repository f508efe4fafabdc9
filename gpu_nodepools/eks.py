"""The EKS cluster from native `pulumi_aws.eks` resources, and the Kubernetes provider built from its outputs.

Native resources (not the remote `pulumi_eks` component) so every child shows in the plan and in policies:
cluster IAM role, KMS key for secrets encryption, the cluster (private endpoint by default), the IAM OIDC provider
(for IRSA roles other layers create), access entries, managed add-ons pinned per Kubernetes version
(components/catalog/compat.py), the node IAM role shared by all node groups and a CPU system node group.

Reads `ctx.network.private_subnet_ids`; returns the cluster layer's `ClusterOutputs` with `EksOutputs`
(components/outputs.py).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.catalog.compat import EKS_ADDON_NAMES, EKS_ADDONS
from components.context import PlatformContext
from components.iam import irsa_trust_policy
from components.kms import protected_key
from components.outputs import ClusterOutputs, EksOutputs

SYSTEM_ROLE_LABEL = "inference-ra.nvidia.com/role"

EKS_ASSUME_ROLE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    },
    sort_keys=True,
)
EC2_ASSUME_ROLE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    },
    sort_keys=True,
)

_MANAGED = "arn:aws:iam::aws:policy/"
CLUSTER_POLICIES: tuple[str, ...] = ("AmazonEKSClusterPolicy",)
# Worker nodes: join the cluster, pull from ECR (pull-only), run the VPC CNI, and be reachable through SSM instead
# of SSH. IRSA roles for workloads (FSx, S3, EBS CSI) are separate roles, never added here.
NODE_POLICIES: tuple[str, ...] = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonEKS_CNI_Policy",
    "AmazonSSMManagedInstanceCore",
)
ACCESS_POLICIES: dict[str, str] = {
    "cluster-admin": "AmazonEKSClusterAdminPolicy",
    "admin": "AmazonEKSAdminPolicy",
    "edit": "AmazonEKSEditPolicy",
    "view": "AmazonEKSViewPolicy",
}


def access_policy_arn(policy: str) -> str:
    return f"arn:aws:eks::aws:cluster-access-policy/{ACCESS_POLICIES[policy]}"


def kubeconfig_for(
    name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str], region: str
) -> pulumi.Output[str]:
    """A kubeconfig that authenticates with `aws eks get-token` (no static credentials)."""

    def render(args: list[str]) -> str:
        cluster_name, server, ca = args
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": ca}}],
                "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
                "current-context": cluster_name,
                "users": [
                    {
                        "name": cluster_name,
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": "aws",
                                "args": [
                                    "eks",
                                    "get-token",
                                    "--cluster-name",
                                    cluster_name,
                                    "--region",
                                    region,
                                ],
                            }
                        },
                    }
                ],
            },
            sort_keys=True,
        )

    return pulumi.Output.all(name, endpoint, ca_data).apply(render)


def irsa_role(
    ctx: PlatformContext,
    parent: pulumi.Resource,
    oidc: tuple[pulumi.Output[str], pulumi.Output[str]],
    name: str,
    namespace: str,
    service_account: str,
    policy_arns: list[str],
) -> aws.iam.Role:
    """An IRSA role for one service account, trusting the cluster's OIDC provider `oidc` (ARN, issuer host/path)."""
    trust = pulumi.Output.all(*oidc).apply(lambda a: irsa_trust_policy(a[0], a[1], [f"{namespace}:{service_account}"]))
    role = aws.iam.Role(name, assume_role_policy=trust, opts=ctx.aws_opts(parent))
    for arn in policy_arns:
        aws.iam.RolePolicyAttachment(
            f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=ctx.aws_opts(parent)
        )
    return role


def _field(obj: Any, name: str) -> Any:
    """A field of a provider output object (typed output class, or plain dict under mocks)."""
    return obj[name] if isinstance(obj, dict) and name in obj else getattr(obj, name)


def _issuer(identities: Any) -> str:
    """The cluster's OIDC issuer URL from `Cluster.identities`."""
    if not identities:
        return ""
    return str(_field(_field(identities[0], "oidcs")[0], "issuer"))


def _subnets(ctx: PlatformContext) -> list[Any]:
    subnets = list(ctx.network.private_subnet_ids)
    if not subnets:
        pulumi.log.warn("cluster: the network layer has no private subnets; the EKS cluster has no subnets")
    return subnets


def build_eks(ctx: PlatformContext, parent: pulumi.Resource) -> ClusterOutputs:
    """The EKS cluster and its Kubernetes provider: the cluster layer's outputs on aws."""
    spec = ctx.spec.cluster
    name = spec.name
    subnets = _subnets(ctx)

    role = aws.iam.Role(f"{name}-cluster-role", assume_role_policy=EKS_ASSUME_ROLE, opts=ctx.aws_opts(parent))
    role_attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-cluster-{p}", role=role.name, policy_arn=_MANAGED + p, opts=ctx.aws_opts(parent)
        )
        for p in CLUSTER_POLICIES
    ]
    key = protected_key(
        ctx,
        parent,
        f"{name}-secrets",
        f"EKS secrets envelope encryption for cluster {name}",
        alias=f"eks/{name}-secrets",
        alias_resource=f"{name}-secrets",
    )

    cluster = aws.eks.Cluster(
        f"{name}-cluster",
        name=name,
        role_arn=role.arn,
        version=spec.kubernetes_version,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=subnets,
            endpoint_private_access=True,
            endpoint_public_access=spec.endpoint_public_access,
            public_access_cidrs=spec.public_access_cidrs if spec.endpoint_public_access else None,
        ),
        # API-only authentication: access entries, no aws-auth ConfigMap. The identity running `pulumi up` keeps
        # admin (it applies every Kubernetes object of the stack through the provider below).
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
        ),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
        ),
        enabled_cluster_log_types=list(spec.control_plane_logs),
        upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
        bootstrap_self_managed_addons=False,  # vpc-cni, kube-proxy, coredns come as pinned managed add-ons below
        tags={"Name": name},
        opts=ctx.aws_opts(parent, protect=True, depends_on=role_attachments),
    )
    issuer_url = cluster.identities.apply(_issuer)
    oidc = aws.iam.OpenIdConnectProvider(
        f"{name}-oidc",
        url=issuer_url,
        client_id_lists=["sts.amazonaws.com"],
        opts=ctx.aws_opts(parent),
    )
    oidc_issuer = issuer_url.apply(lambda u: u.removeprefix("https://"))

    for i, entry in enumerate(spec.access_entries):
        access = aws.eks.AccessEntry(
            f"{name}-access-{i}",
            cluster_name=cluster.name,
            principal_arn=entry.principal_arn,
            type="STANDARD",
            opts=ctx.aws_opts(parent),
        )
        aws.eks.AccessPolicyAssociation(
            f"{name}-access-{i}-{entry.policy}",
            cluster_name=cluster.name,
            principal_arn=entry.principal_arn,
            policy_arn=access_policy_arn(entry.policy),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=ctx.aws_opts(parent, depends_on=[access]),
        )

    node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=EC2_ASSUME_ROLE, opts=ctx.aws_opts(parent))
    node_attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-node-{p}", role=node_role.name, policy_arn=_MANAGED + p, opts=ctx.aws_opts(parent)
        )
        for p in NODE_POLICIES
    ]

    # Networking add-ons before any node: a node without the VPC CNI never becomes Ready.
    versions = EKS_ADDONS.get(spec.kubernetes_version, {})
    early = [
        _addon(ctx, parent, cluster, addon, versions.get(addon))
        for addon in EKS_ADDON_NAMES
        if addon in ("vpc-cni", "kube-proxy")
    ]
    system = build_system_node_group(ctx, parent, cluster, node_role, subnets, [*node_attachments, *early])
    ebs_role = irsa_role(
        ctx,
        parent,
        (oidc.arn, oidc_issuer),
        f"{name}-ebs-csi",
        "kube-system",
        "ebs-csi-controller-sa",
        [_MANAGED + "service-role/AmazonEBSCSIDriverPolicy"],
    )
    for addon in EKS_ADDON_NAMES:
        if addon in ("coredns", "aws-ebs-csi-driver"):  # Deployments: they need schedulable nodes
            _addon(
                ctx,
                parent,
                cluster,
                addon,
                versions.get(addon),
                role_arn=ebs_role.arn if addon == "aws-ebs-csi-driver" else None,
                depends_on=[system],
            )

    kubeconfig = kubeconfig_for(cluster.name, cluster.endpoint, cluster.certificate_authority.data, ctx.region or "")
    provider = k8s.Provider(
        "k8s",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[system]),
    )
    return ClusterOutputs(
        k8s_provider=provider,
        kubeconfig=kubeconfig,
        eks=EksOutputs(
            cluster_name=cluster.name,
            cluster_security_group_id=cluster.vpc_config.cluster_security_group_id,
            oidc_provider_arn=oidc.arn,
            oidc_issuer=oidc_issuer,
            node_role_arn=node_role.arn,
            node_role_attachments=tuple(node_attachments),
        ),
    )


def _addon(
    ctx: PlatformContext,
    parent: pulumi.Resource,
    cluster: aws.eks.Cluster,
    addon: str,
    version: str | None,
    *,
    role_arn: pulumi.Input[str] | None = None,
    depends_on: list[pulumi.Resource] | None = None,
) -> aws.eks.Addon:
    return aws.eks.Addon(
        f"{ctx.spec.cluster.name}-{addon}",
        cluster_name=cluster.name,
        addon_name=addon,
        addon_version=version,
        service_account_role_arn=role_arn,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="PRESERVE",
        opts=ctx.aws_opts(parent, depends_on=depends_on or []),
    )


def node_metadata_options(ctx: PlatformContext) -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    """IMDSv2 only (session tokens required), with the spec's hop limit."""
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled",
        http_tokens="required",
        http_put_response_hop_limit=ctx.spec.cluster.imds_hop_limit,
        instance_metadata_tags="disabled",
    )


def encrypted_root_volume(size_gi: int) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name="/dev/xvda",
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size_gi, volume_type="gp3", encrypted="true", delete_on_termination="true"
        ),
    )


def build_system_node_group(
    ctx: PlatformContext,
    parent: pulumi.Resource,
    cluster: aws.eks.Cluster,
    node_role: aws.iam.Role,
    subnets: list[Any],
    depends_on: list[pulumi.Resource],
) -> aws.eks.NodeGroup:
    """CPU nodes for operators and controllers (GPU Operator, Network/Dynamo operators, Prometheus)."""
    spec = ctx.spec.cluster
    sysn = spec.system_nodes
    template = aws.ec2.LaunchTemplate(
        f"{spec.name}-system",
        name=f"{spec.name}-system",
        description="inference-ra system nodes: IMDSv2, encrypted root volume",
        metadata_options=node_metadata_options(ctx),
        block_device_mappings=[encrypted_root_volume(100)],
        update_default_version=True,
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=t, tags={"Name": f"{spec.name}-system"})
            for t in ("instance", "volume")
        ],
        opts=ctx.aws_opts(parent),
    )
    return aws.eks.NodeGroup(
        f"{spec.name}-system",
        cluster_name=cluster.name,
        node_group_name=f"{spec.name}-system",
        node_role_arn=node_role.arn,
        subnet_ids=subnets,
        ami_type="AL2023_x86_64_STANDARD",
        capacity_type="ON_DEMAND",
        instance_types=[sysn.instance_type],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=sysn.min, desired_size=sysn.desired, max_size=sysn.max
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
        labels={SYSTEM_ROLE_LABEL: "system"},
        opts=ctx.aws_opts(parent, depends_on=depends_on),
    )
