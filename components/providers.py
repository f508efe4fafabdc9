"""The AWS provider of the stack (region and default tags from the spec), created before any layer.

The Kubernetes provider is the `cluster` layer's output (gpu_nodepools/cluster.py): from the EKS cluster on aws, from
the secret config key `inference-ra:kubeconfig` on an existing cluster.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.context import PlatformContext


def build_aws_provider(ctx: PlatformContext, parent: pulumi.Resource) -> pulumi.ProviderResource | None:
    """The AWS provider (aws stacks only), explicit so region and default tags show in the plan."""
    spec = ctx.spec
    if spec.cluster.provider != "aws":
        return None
    tags = {"inference-ra/stack": ctx.stack, "inference-ra/cluster": spec.cluster.name, **spec.cluster.tags}
    # sorted: the engine sends provider config as JSON strings, so the stack file's key order would be a diff
    tags = dict(sorted(tags.items()))
    return aws.Provider(
        "aws",
        region=ctx.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
