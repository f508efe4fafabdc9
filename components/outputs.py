"""What each layer hands to later layers: one frozen outputs type per producing layer.

A layer's `build(ctx, parent)` returns its outputs; the composition (components/platform.py) stores them once, and
later layers read them through the context's typed attributes (`ctx.fabric.profiles`, `ctx.storage.model_cache_claims`,
...), so "go to definition" finds every producer and reader. Reading a layer's outputs before that layer ran raises
`LayerOrderError` naming the producing layer (components/context.py).

These types live in the spine and depend only on it, so a consumer imports them without importing the producing
layer. Every field has a reader: tests/spine/test_handoffs.py walks these types and fails on a field that no module
reads (its allow-list names the deliberate exceptions). The layer table in README.md and components/platform.py is
generated from them (`python -m stacks.docgen`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import pulumi

from components import k8s as kobj


class LayerOutputs:
    """Base of the outputs types; `LAYER` names the one layer (components/platform.py LAYERS) that produces it."""

    LAYER: ClassVar[str]


@dataclass(frozen=True)
class NetworkOutputs(LayerOutputs):
    """The VPC (aws); empty on an existing cluster, whose network is not ours."""

    LAYER: ClassVar[str] = "network"
    vpc_id: pulumi.Output[str] | None = None
    private_subnet_ids: tuple[pulumi.Output[str], ...] = ()  # spec.network.availabilityZones order
    subnet_ids_by_az: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    efa_security_group_id: pulumi.Output[str] | None = None  # fabric efa only: the group EFA interfaces join


@dataclass(frozen=True)
class EksOutputs:
    """The EKS cluster's values node groups and IRSA roles need (cluster layer, aws only)."""

    cluster_name: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]  # issuer host/path without https://, for IRSA trust conditions
    node_role_arn: pulumi.Output[str]  # the node IAM role every node group joins with
    node_role_attachments: tuple[pulumi.Resource, ...]  # its managed policies: a node group waits for them


@dataclass(frozen=True)
class ClusterOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "cluster"
    k8s_provider: pulumi.ProviderResource  # every Kubernetes object of the stack goes through it (ctx.k8s_opts)
    eks: EksOutputs | None = None  # aws only
    # what the provider was built from; a layer stack exports it (secret) for the later stacks' providers
    # (components/layering.py); None in the later stacks themselves
    kubeconfig: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class NamespaceOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "namespaces"
    by_name: Mapping[str, pulumi.Resource] = field(default_factory=dict)  # ctx.k8s_opts(namespace=) depends on it


@dataclass(frozen=True)
class ComputeOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "compute"
    # the GPU Operator chart (driver, `nvidia` RuntimeClass); None in a later layer stack (stack order orders it)
    gpu_operator: pulumi.Resource | None = None
    node_groups: Mapping[str, pulumi.Resource] = field(default_factory=dict)  # {pool: EKS node group} (aws)
    # {pool: {namespace: (ComputeDomain name, its ResourceClaimTemplate name)}} of GB200 pools
    compute_domains: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)
    # {pool: host path of its local NVMe array} (pools with localNvme): on aws nodeadm mounts the RAID0 at
    # `<mountPath>/0`, so only the layer that configures nodeadm knows the real path
    local_nvme_paths: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FabricProfile:
    """Everything a GPU pod on one pool needs from the fabric (networking/profile.py builds it)."""

    resources: dict[str, int] = field(default_factory=dict)  # extended resources every GPU pod requests (= limits)
    capabilities: tuple[str, ...] = ()  # container capabilities to add
    env: dict[str, str] = field(default_factory=dict)  # NCCL / UCX / libfabric environment
    annotations: dict[str, str] = field(default_factory=dict)  # pod annotations (network attachments)
    nixl_backend: str = "UCX"  # UCX | LIBFABRIC: the NIXL backend each engine is told to use for KV transfer
    # NICs taken in proportion to the pod's GPUs (EFA): `nic_resource` with nics_by_gpus[g - 1] for a g-GPU pod
    nic_resource: str | None = None
    nics_by_gpus: tuple[int, ...] = ()
    # NIXL on this fabric registers GPU memory with the NIC only from a privileged container (EFA: Dynamo's EFA guide)
    nixl_needs_privileged: bool = False


@dataclass(frozen=True)
class FabricOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "fabric"
    profiles: Mapping[str, FabricProfile] = field(default_factory=dict)  # {pool: profile}, every GPU pool
    # KAI Topology / Grove ClusterTopologyBinding (network.topology): they need those schedulers' CRDs, so the
    # scheduling layer applies them after its charts
    scheduler_topology: tuple[kobj.Manifest, ...] = ()


@dataclass(frozen=True)
class StorageOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "storage"
    # {namespace: PersistentVolumeClaim}: the RWX model cache claim in every namespace that hosts models
    model_cache_claims: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    # {checkpoint uri: Job}; with per-namespace caches the Job of the first namespace serving it
    prefetch_jobs: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    prefetch_jobs_by_namespace: Mapping[str, Mapping[str, pulumi.Resource]] = field(default_factory=dict)
    token_secrets: Mapping[str, tuple[pulumi.Resource, ...]] = field(default_factory=dict)  # {ns: hf/ngc Secrets}
    kv_disk_classes: Mapping[str, str] = field(default_factory=dict)  # {pool: local NVMe StorageClass (KV disk tier)}
    # aws: the IRSA role that reads the model bucket (and Triton's S3 repositories); it trusts the `model-reader`
    # ServiceAccounts and each Triton ServiceAccount with an S3 repository
    model_reader_role_arn: pulumi.Output[str] | None = None
    # aws: the gp3 StorageClass every ReadWriteOnce claim of the stack names (Prometheus' chart waits for it)
    block_storage_class: pulumi.Resource | None = None


@dataclass(frozen=True)
class AcceptanceOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "acceptance"
    gates: Mapping[str, pulumi.Resource] = field(default_factory=dict)  # {gated pool: burn-in DaemonSet}
    # {gated pool: node selector entries its serving pods add}, so nodes that join later serve only once passed
    node_selectors: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservabilityOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "observability"
    prometheus_url: str | None = None  # None when observability is off
    prometheus_stack: pulumi.Resource | None = None  # the kube-prometheus-stack chart (its CRDs), when deployed


@dataclass(frozen=True)
class SchedulingOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "scheduling"
    kai_scheduler: pulumi.Resource | None = None  # the KAI Scheduler chart (its CRDs: Queue, Topology)
    grove: pulumi.Resource | None = None  # the Grove chart


@dataclass(frozen=True)
class OptimizationOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "optimization"
    jobs: Mapping[str, pulumi.Resource] = field(default_factory=dict)  # {model: last Job of its chain}


@dataclass(frozen=True)
class ServingOutputs(LayerOutputs):
    LAYER: ClassVar[str] = "serving"
    graphs: Mapping[str, pulumi.Resource] = field(default_factory=dict)  # {model: DynamoGraphDeployment}
    # {model: {worker role: component name}} of the components that set `scalingAdapter` (the operator names the
    # adapter `<graph>-<lowercased component name>`), for KEDA
    scaled_components: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # {model: the name clients and metrics see (--served-model-name; the `model` label of dynamo_frontend_*)}
    served_model_names: Mapping[str, str] = field(default_factory=dict)


OUTPUT_TYPES: tuple[type[LayerOutputs], ...] = (
    NetworkOutputs,
    ClusterOutputs,
    NamespaceOutputs,
    ComputeOutputs,
    FabricOutputs,
    StorageOutputs,
    AcceptanceOutputs,
    ObservabilityOutputs,
    SchedulingOutputs,
    OptimizationOutputs,
    ServingOutputs,
)
