"""The EKS cluster from native `pulumi_aws.eks` resources, and the Kubernetes provider built from its outputs.

Native resources (not the remote `pulumi_eks` component) so every child shows in the plan and in policies:
cluster IAM role, KMS key for secrets encryption, the cluster (public endpoint restricted to `publicAccessCidrs`, or
private and reached from `privateEndpointAccess` sources in an existing VPC), the IAM OIDC provider (for IRSA roles
here and in other layers), access entries (gpu_nodepools/eks_access.py), managed add-ons at the versions EKS serves
for the cluster's Kubernetes version (looked up at deploy time unless pinned in `cluster.addonVersions`), the node
IAM role shared by all node groups and a CPU system node group. Upstream sources: docs/compute.md.

Reads `ctx.network.private_subnet_ids`; returns the cluster layer's `ClusterOutputs` with `EksOutputs`
(components/outputs.py).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.catalog.compat import EKS_ADDON_NAMES
from components.context import PlatformContext
from components.iam import irsa_trust_policy
from components.kms import protected_key
from components.outputs import ClusterOutputs, EksOutputs
from gpu_nodepools.eks_access import access_entries, endpoint_ingress

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
# Worker nodes: join the cluster, pull from ECR (pull-only), and be reachable through SSM instead of SSH. The VPC
# CNI's policy is not here: the vpc-cni add-on runs under its own IRSA role (EKS user guide "Configure the Amazon VPC
# CNI plugin to use IRSA"), so pods on the node cannot borrow ENI-management rights from the node role. IRSA roles for
# workloads (FSx, S3, EBS CSI) are separate roles too.
NODE_POLICIES: tuple[str, ...] = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
CNI_POLICY = "AmazonEKS_CNI_Policy"
CNI_SERVICE_ACCOUNT = ("kube-system", "aws-node")  # the vpc-cni DaemonSet's ServiceAccount
EBS_CSI_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")


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
        # API-only authentication: access entries, no aws-auth ConfigMap. The creator keeps its bootstrap admin only
        # when no access entry grants cluster-admin (cluster.bootstrapClusterCreatorAdminPermissions).
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API", bootstrap_cluster_creator_admin_permissions=spec.resolved_bootstrap_admin
        ),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
        ),
        enabled_cluster_log_types=list(spec.control_plane_logs),
        upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
        bootstrap_self_managed_addons=False,  # vpc-cni, kube-proxy, coredns come as managed add-ons below
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
    admin_access = access_entries(ctx, parent, cluster)
    api_ingress = endpoint_ingress(ctx, parent, cluster)

    node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=EC2_ASSUME_ROLE, opts=ctx.aws_opts(parent))
    node_attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-node-{p}", role=node_role.name, policy_arn=_MANAGED + p, opts=ctx.aws_opts(parent)
        )
        for p in NODE_POLICIES
    ]
    cni_role = irsa_role(
        ctx, parent, (oidc.arn, oidc_issuer), f"{name}-vpc-cni", *CNI_SERVICE_ACCOUNT, [_MANAGED + CNI_POLICY]
    )

    # Networking add-ons before any node: a node without the VPC CNI never becomes Ready.
    early = [
        _addon(ctx, parent, cluster, addon, role_arn=cni_role.arn if addon == "vpc-cni" else None)
        for addon in EKS_ADDON_NAMES
        if addon in ("vpc-cni", "kube-proxy")
    ]
    system = build_system_node_group(ctx, parent, cluster, node_role, subnets, [*node_attachments, *early])
    ebs_role = irsa_role(
        ctx,
        parent,
        (oidc.arn, oidc_issuer),
        f"{name}-ebs-csi",
        *EBS_CSI_SERVICE_ACCOUNT,
        [_MANAGED + "service-role/AmazonEBSCSIDriverPolicy"],
    )
    for addon in EKS_ADDON_NAMES:
        if addon in ("coredns", "aws-ebs-csi-driver"):  # Deployments: they need schedulable nodes
            _addon(
                ctx,
                parent,
                cluster,
                addon,
                role_arn=ebs_role.arn if addon == "aws-ebs-csi-driver" else None,
                depends_on=[system],
            )

    kubeconfig = kubeconfig_for(cluster.name, cluster.endpoint, cluster.certificate_authority.data, ctx.region or "")
    # The provider's first call must find the way in (endpoint ingress) and the caller's access entry in place.
    provider = k8s.Provider(
        "k8s",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[system, *admin_access, *api_ingress]),
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


def addon_version(ctx: PlatformContext, addon: str) -> pulumi.Input[str]:
    """The spec's pin, else the most recent version EKS serves for the cluster's Kubernetes version, asked at deploy
    time (DescribeAddonVersions; the offline engine answers with a `<resolved at deploy: ...>` placeholder)."""
    spec = ctx.spec.cluster
    pinned = spec.addon_versions.get(addon)  # type: ignore[call-overload]
    if pinned:
        return str(pinned)
    return aws.eks.get_addon_version_output(
        addon_name=addon,
        kubernetes_version=spec.kubernetes_version,
        most_recent=True,
        opts=pulumi.InvokeOutputOptions(provider=ctx.aws_provider),
    ).version


def _addon(
    ctx: PlatformContext,
    parent: pulumi.Resource,
    cluster: aws.eks.Cluster,
    addon: str,
    *,
    role_arn: pulumi.Input[str] | None = None,
    depends_on: list[pulumi.Resource] | None = None,
) -> aws.eks.Addon:
    return aws.eks.Addon(
        f"{ctx.spec.cluster.name}-{addon}",
        cluster_name=cluster.name,
        addon_name=addon,
        addon_version=addon_version(ctx, addon),
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
