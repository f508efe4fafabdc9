"""Catalogs are data, not branches: GPUs, node types, model architectures and component versions.

Every entry names its source. Builders and spec rules ask these tables; nothing else hard-codes a GPU or an
instance type.
"""

from components.catalog.gpus import GPUS, GpuModel
from components.catalog.models import ARCHITECTURES, Architecture
from components.catalog.nodes import NODE_TYPES, NodeType
from components.catalog.versions import CHARTS, IMAGES, ChartRef

__all__ = [
    "ARCHITECTURES",
    "CHARTS",
    "GPUS",
    "IMAGES",
    "NODE_TYPES",
    "Architecture",
    "ChartRef",
    "GpuModel",
    "NodeType",
]
