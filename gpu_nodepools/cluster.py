"""The `cluster` layer: the Kubernetes provider every Kubernetes object of the stack uses.

On aws the EKS cluster (gpu_nodepools/eks.py) and a provider built from its outputs; on an existing cluster a
provider reading the kubeconfig from the secret config key `inference-ra:kubeconfig`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.context import PlatformContext
from components.layering import StackRefs
from components.outputs import ClusterOutputs
from gpu_nodepools.eks import build_eks


def build(ctx: PlatformContext, parent: pulumi.Resource) -> ClusterOutputs:
    spec = ctx.spec
    if spec.cluster.provider == "aws":
        return build_eks(ctx, parent)
    kubeconfig = ctx.secrets.get("kubeconfig")
    if kubeconfig is None:
        raise pulumi.RunError(
            "an existing cluster needs its kubeconfig: "
            'pulumi config set --secret inference-ra:kubeconfig "$(cat ~/.kube/config)"'
        )
    provider = k8s.Provider(
        "k8s",
        kubeconfig=kubeconfig,
        context=spec.cluster.kubeconfig_context,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return ClusterOutputs(k8s_provider=provider, kubeconfig=kubeconfig)


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> ClusterOutputs:
    """The cluster as a later layer stack sees it: a provider built from the infra stack's `cluster.kubeconfig`
    output (components/layering.py), with the same settings as infra's own provider."""
    provider = k8s.Provider(
        "k8s",
        kubeconfig=refs.kubeconfig(),
        context=ctx.spec.cluster.kubeconfig_context if ctx.spec.cluster.provider != "aws" else None,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return ClusterOutputs(k8s_provider=provider)
