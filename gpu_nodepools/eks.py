"""The EKS cluster from native `pulumi_aws.eks` resources, and the Kubernetes provider built from its outputs."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.platform import PlatformContext

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


def build_cluster_provider(ctx: PlatformContext, parent: pulumi.Resource) -> k8s.Provider:
    spec = ctx.spec.cluster
    role = aws.iam.Role(f"{spec.name}-cluster-role", assume_role_policy=EKS_ASSUME_ROLE, opts=ctx.aws_opts(parent))
    cluster = aws.eks.Cluster(
        f"{spec.name}-cluster",
        name=spec.name,
        role_arn=role.arn,
        version=spec.kubernetes_version,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=ctx.handles.get("private_subnet_ids", []),
            endpoint_private_access=True,
            endpoint_public_access=spec.endpoint_public_access,
            public_access_cidrs=spec.public_access_cidrs or None,
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode="API"),
        opts=ctx.aws_opts(parent, protect=True),
    )
    ctx.handles["eks_cluster"] = cluster
    kubeconfig = kubeconfig_for(cluster.name, cluster.endpoint, cluster.certificate_authority.data, ctx.region or "")
    return k8s.Provider(
        "k8s",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
