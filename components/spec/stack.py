"""The whole stack spec: the eleven top-level keys of `inference-ra:` config, and catalog lookups over them."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field

from components.catalog import ARCHITECTURES, GPUS, NODE_TYPES, Architecture, GpuModel, NodeType
from components.spec.base import SpecModel
from components.spec.charts import ChartsSpec, ImagesSpec
from components.spec.cluster import ClusterSpec
from components.spec.gpu import GpuOperatorSpec, GpuPoolSpec
from components.spec.network import NetworkSpec
from components.spec.platform import ObservabilitySpec, PolicySpec, SchedulingSpec
from components.spec.serving import ExplicitArchitecture, ModelSpec, ServingSpec
from components.spec.storage import StorageSpec

TOP_LEVEL_KEYS: tuple[str, ...] = (
    "cluster",
    "network",
    "gpuPools",
    "gpuOperator",
    "storage",
    "serving",
    "scheduling",
    "observability",
    "policy",
    "charts",
    "images",
)
# Secret config keys (Pulumi secrets; never part of the spec, never rendered in plain text).
SECRET_KEYS: tuple[str, ...] = ("hfToken", "ngcToken", "kubeconfig", "grafanaAdminPassword")


class StackSpec(SpecModel):
    """One stack of the reference architecture."""

    cluster: ClusterSpec = Field(description="Where the platform runs.")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="VPC and GPU fabric.")
    gpu_pools: list[GpuPoolSpec] = Field(min_length=1, description="GPU node pools.")
    gpu_operator: GpuOperatorSpec = Field(default_factory=GpuOperatorSpec, description="NVIDIA GPU Operator.")
    storage: StorageSpec = Field(default_factory=StorageSpec, description="NVMe, parallel FS, model cache.")
    serving: ServingSpec = Field(default_factory=ServingSpec, description="Dynamo and Triton serving.")
    scheduling: SchedulingSpec = Field(default_factory=SchedulingSpec, description="Tenants, queues, topology.")
    observability: ObservabilitySpec = Field(
        default_factory=ObservabilitySpec, description="Metrics, alerts, dashboards."
    )
    policy: PolicySpec = Field(default_factory=PolicySpec, description="Policy pack overrides.")
    charts: ChartsSpec = Field(default_factory=ChartsSpec, description="Where Helm charts come from (air-gapped).")
    images: ImagesSpec = Field(default_factory=ImagesSpec, description="Image mirror (air-gapped).")

    # ---- lookups (catalog joins used by rules and builders) -------------------------------------------------
    @cached_property
    def pools_by_name(self) -> dict[str, GpuPoolSpec]:
        return {p.name: p for p in self.gpu_pools}

    def pool(self, name: str) -> GpuPoolSpec | None:
        return self.pools_by_name.get(name)

    @staticmethod
    def node_type(pool: GpuPoolSpec) -> NodeType | None:
        return NODE_TYPES.get(pool.instance_type)

    @staticmethod
    def gpu_model(pool: GpuPoolSpec) -> GpuModel | None:
        return GPUS.get(pool.gpu)

    @staticmethod
    def architecture(model: ModelSpec) -> Architecture | None:
        return resolve_architecture(model.architecture)

    def rails_per_node(self, pool: GpuPoolSpec) -> int:
        fabric = self.network.fabric
        if fabric.rails_per_node:
            return fabric.rails_per_node
        nt = self.node_type(pool)
        if nt is None:
            return 0
        return nt.efa_interfaces if fabric.type == "efa" else nt.nics


def resolve_architecture(arch: str | ExplicitArchitecture) -> Architecture | None:
    if isinstance(arch, str):
        return ARCHITECTURES.get(arch)
    return Architecture(
        key="explicit",
        params_b=arch.params_b,
        active_params_b=arch.active_params_b or arch.params_b,
        layers=arch.layers,
        hidden_size=arch.hidden_size,
        attention_heads=arch.attention_heads,
        kv_heads=arch.kv_heads,
        head_dim=arch.head_dim,
        max_context=arch.max_context,
        native_dtype="bf16",
        experts=arch.experts,
        experts_per_token=arch.experts_per_token,
        source="spec",
    )
