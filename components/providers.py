"""Providers of the stack: AWS (region and default tags from the spec) and Kubernetes.

The Kubernetes provider of an existing cluster reads the kubeconfig from the secret config key
`inference-ra:kubeconfig`. On aws the cluster layer builds it from the EKS cluster's outputs.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.platform import PlatformContext


def build_aws_provider(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    """The AWS provider (aws stacks only), explicit so region and default tags show in the plan."""
    spec = ctx.spec
    if spec.cluster.provider != "aws":
        return
    tags = {"inference-ra/stack": ctx.stack, "inference-ra/cluster": spec.cluster.name, **spec.cluster.tags}
    ctx.aws_provider = aws.Provider(
        "aws",
        region=ctx.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def build_cluster(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    """The `cluster` layer: the Kubernetes provider every Kubernetes object of the stack uses."""
    spec = ctx.spec
    if spec.cluster.provider == "aws":
        from gpu_nodepools.eks import build_cluster_provider

        ctx.k8s_provider = build_cluster_provider(ctx, parent)
        return
    kubeconfig = ctx.secrets.get("kubeconfig")
    if kubeconfig is None:
        raise pulumi.RunError(
            "an existing cluster needs its kubeconfig: "
            'pulumi config set --secret inference-ra:kubeconfig "$(cat ~/.kube/config)"'
        )
    ctx.k8s_provider = k8s.Provider(
        "k8s",
        kubeconfig=kubeconfig,
        context=spec.cluster.kubeconfig_context,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
