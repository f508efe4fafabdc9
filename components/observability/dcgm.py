"""The DCGM exporter counter set as a ConfigMap in the GPU Operator's namespace (GPU Operator value
`dcgmExporter.config.name`). The compute layer creates it before the operator chart, so the exporter starts with it.
"""

from __future__ import annotations

from components import k8s as kobj
from components.observability.metrics import dcgm_metrics_csv

DCGM_METRICS_CONFIGMAP = "inference-ra-dcgm-metrics"
GPU_OPERATOR_NAMESPACE = "gpu-operator"


def dcgm_configmap() -> kobj.Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": kobj.metadata(DCGM_METRICS_CONFIGMAP, GPU_OPERATOR_NAMESPACE),
        "data": {"dcgm-metrics.csv": dcgm_metrics_csv()},
    }
