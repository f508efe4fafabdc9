"""The platform composition: one `InferencePlatform` component, one child component per layer.

`PlatformContext` is what layers share: the spec, the providers, the namespaces, and handles one layer leaves for
another (the fabric profile, the model cache claim, acceptance gates). Layers run in the order of `LAYERS`; each is
a plain function `build(ctx, parent)` that registers its resources under its own component.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import k8s as kobj
from components.spec import StackSpec

PRIVILEGED_NAMESPACES: tuple[str, ...] = (
    "gpu-operator",
    "network-operator",
    "kube-system",
    "nvidia-dra-driver",
)


@dataclass
class PlatformContext:
    stack: str
    spec: StackSpec
    region: str | None
    k8s_provider: pulumi.ProviderResource | None = None
    aws_provider: pulumi.ProviderResource | None = None
    namespaces: dict[str, k8s.core.v1.Namespace] = field(default_factory=dict)
    secrets: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    # handles one layer leaves for another, by well-known key (see each layer's docstring)
    handles: dict[str, Any] = field(default_factory=dict)

    def k8s_opts(
        self,
        parent: pulumi.Resource,
        *,
        depends_on: Sequence[pulumi.Resource] = (),
        protect: bool = False,
        namespace: str | None = None,
    ) -> pulumi.ResourceOptions:
        """Options for a Kubernetes object: the stack's provider, and a dependency on its namespace."""
        deps = list(depends_on)
        if namespace and namespace in self.namespaces:
            deps.append(self.namespaces[namespace])
        return pulumi.ResourceOptions(
            parent=parent, provider=self.k8s_provider, depends_on=deps or None, protect=protect
        )

    def aws_opts(
        self, parent: pulumi.Resource, *, depends_on: Sequence[pulumi.Resource] = (), protect: bool = False
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent, provider=self.aws_provider, depends_on=list(depends_on) or None, protect=protect
        )


class Layer(pulumi.ComponentResource):
    """One RA layer; its children are the layer's resources."""

    def __init__(self, layer: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"inference-ra:{layer}:{layer.title().replace('_', '')}", name, None, opts)


# (layer name, "module:function"). Order matters: later layers use handles of earlier ones.
#   network        aws: VPC, subnets, endpoints, EFA security group  -> handles private_subnet_ids, efa_sg ...
#   cluster        the Kubernetes provider: EKS (aws) or kubeconfig (existing) -> ctx.k8s_provider
#   namespaces     every namespace of the stack                     -> ctx.namespaces
#   compute        GPU node pools, node labels/taints, GPU Operator
#   fabric         Network Operator / EFA device plugin, topology
#   storage        local NVMe, parallel FS, model bucket, model cache -> handles model_cache_pvc, prefetch_jobs
#   acceptance     per-pool burn-in                                   -> handles acceptance[pool]
#   observability  Prometheus stack, monitors, rules, dashboards      -> handles prometheus_url
#   scheduling     KAI Scheduler + Grove charts, their topology objects  -> handles kai_scheduler, grove
#   tenancy        KAI queues, tenant quota / NetworkPolicies / RBAC   -> handles kai_queues, tenant_namespaces
#   optimization   ModelOpt quantization + TensorRT-LLM engine Jobs     -> handles optimization_jobs[model]
#   serving        Dynamo platform, graphs, KV tiers, routing, planner   (graphs depend on optimization_jobs)
#   autoscaling    KEDA chart + ScaledObjects on the graphs' scaling adapters (after serving)
#   triton         Triton Deployments, Services, HPAs (after serving)
#   performance    AIPerf benchmark Jobs                                -> handles benchmark_jobs[model]
LAYERS: tuple[tuple[str, str], ...] = (
    ("network", "networking.vpc:build"),
    ("cluster", "components.providers:build_cluster"),
    ("namespaces", "components.namespaces:build"),
    ("compute", "gpu_nodepools.compute:build"),
    ("fabric", "networking.fabric:build"),
    ("storage", "storage.layer:build"),
    ("acceptance", "gpu_nodepools.acceptance:build"),
    ("observability", "components.observability.layer:build"),
    ("scheduling", "serving.schedulers:build"),
    ("tenancy", "serving.tenancy:build"),
    ("optimization", "serving.optimization:build"),  # after storage, before serving (graphs depend on its Jobs)
    ("serving", "serving.layer:build"),
    ("autoscaling", "serving.keda:build"),
    ("triton", "serving.triton:build"),
    ("performance", "serving.performance:build"),  # last: benchmarks target the graphs' frontends
)


def _load(target: str) -> Callable[[PlatformContext, pulumi.Resource], None]:
    module, _, fn = target.partition(":")
    return getattr(importlib.import_module(module), fn)  # type: ignore[no-any-return]


class InferencePlatform(pulumi.ComponentResource):
    """The whole reference architecture for one stack."""

    def __init__(self, name: str, ctx: PlatformContext, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("inference-ra:index:InferencePlatform", name, None, opts)
        from components.providers import build_aws_provider

        build_aws_provider(ctx, self)
        for layer, target in LAYERS:
            component = Layer(layer, f"{name}-{layer}", pulumi.ResourceOptions(parent=self))
            _load(target)(ctx, component)
            component.register_outputs({})
        self.register_outputs({"stack": ctx.stack})


def kubernetes_namespace_labels(namespace: str) -> dict[str, str]:
    level = "privileged" if namespace in PRIVILEGED_NAMESPACES else "baseline"
    return {"pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/warn": "restricted"}


__all__ = ["LAYERS", "InferencePlatform", "Layer", "PlatformContext", "kobj"]
