"""The typed stack spec (pydantic v2): one model per top-level config key."""

from components.spec.charts import ChartsSpec, ImagesSpec
from components.spec.cluster import ClusterSpec
from components.spec.gpu import GpuOperatorSpec, GpuPoolSpec
from components.spec.network import RDMA_FABRICS, FabricSpec, NetworkSpec
from components.spec.platform import ObservabilitySpec, PolicySpec, QueueSpec, SchedulingSpec
from components.spec.serving import ModelSpec, ServingSpec, WorkerSpec
from components.spec.stack import SECRET_KEYS, TOP_LEVEL_KEYS, StackSpec, resolve_architecture
from components.spec.storage import StorageSpec

__all__ = [
    "RDMA_FABRICS",
    "SECRET_KEYS",
    "TOP_LEVEL_KEYS",
    "ChartsSpec",
    "ClusterSpec",
    "FabricSpec",
    "GpuOperatorSpec",
    "GpuPoolSpec",
    "ImagesSpec",
    "ModelSpec",
    "NetworkSpec",
    "ObservabilitySpec",
    "PolicySpec",
    "QueueSpec",
    "SchedulingSpec",
    "ServingSpec",
    "StackSpec",
    "StorageSpec",
    "WorkerSpec",
    "resolve_architecture",
]
