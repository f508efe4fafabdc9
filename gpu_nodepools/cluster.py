"""The `cluster` layer: the Kubernetes provider every Kubernetes object of the stack uses.

On aws the EKS cluster (gpu_nodepools/eks.py) and a provider built from its outputs; on an existing cluster a
provider reading the kubeconfig from the secret config key `inference-ra:kubeconfig`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.context import PlatformContext
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
    return ClusterOutputs(k8s_provider=provider)
