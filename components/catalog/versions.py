"""Pinned component versions: Helm charts and container images.

Chart versions match ../shared/upstream (see its SOURCES.md), so every values key we set is validated against the
values.yaml of the version we deploy. `values_file` names that file in the chart-values directory.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartRef:
    chart: str
    version: str
    repo: str  # Helm repository URL; empty when `chart` is an oci:// reference
    values_file: str  # file name under INFERENCE_RA_CHART_VALUES_DIR
    source: str


CHARTS: dict[str, ChartRef] = {
    "gpu-operator": ChartRef(
        "gpu-operator",
        "v26.7.0",
        "https://helm.ngc.nvidia.com/nvidia",
        "gpu-operator.values.yaml",
        "NVIDIA/gpu-operator tag v26.7.0",
    ),
    "network-operator": ChartRef(
        "network-operator",
        "26.4.1",
        "https://helm.ngc.nvidia.com/nvidia",
        "network-operator.values.yaml",
        "Mellanox/network-operator tag v26.4.1",
    ),
    "dynamo-platform": ChartRef(
        "dynamo-platform",
        "1.4.0",
        "https://helm.ngc.nvidia.com/nvidia/ai-dynamo",
        "dynamo-platform.values.yaml",
        "ai-dynamo/dynamo 1.4.0 branch cut (e147ceea)",
    ),
    "kai-scheduler": ChartRef(
        "oci://ghcr.io/kai-scheduler/kai-scheduler/kai-scheduler",
        "v0.17.0",
        "",
        "kai-scheduler.values.yaml",
        "kai-scheduler/KAI-Scheduler tag v0.17.0",
    ),
    "grove": ChartRef(
        "oci://ghcr.io/ai-dynamo/grove/grove-charts",
        "v0.1.0-alpha.11",
        "",
        "grove-operator.values.yaml",
        "ai-dynamo/grove tag v0.1.0-alpha.11",
    ),
    "keda": ChartRef(
        "keda",
        "2.20.2",
        "https://kedacore.github.io/charts",
        "keda.values.yaml",
        "kedacore/charts keda 2.20.2",
    ),
    "kube-prometheus-stack": ChartRef(
        "kube-prometheus-stack",
        "88.5.3",
        "https://prometheus-community.github.io/helm-charts",
        "kube-prometheus-stack.values.yaml",
        "prometheus-community/helm-charts kube-prometheus-stack 88.5.3",
    ),
    "aws-efa-k8s-device-plugin": ChartRef(
        "aws-efa-k8s-device-plugin",
        "v0.5.30",
        "https://aws.github.io/eks-charts",
        "aws-efa-k8s-device-plugin.values.yaml",
        "aws/eks-charts aws-efa-k8s-device-plugin v0.5.30",
    ),
    "aws-fsx-csi-driver": ChartRef(
        "aws-fsx-csi-driver",
        "1.17.0",
        "https://kubernetes-sigs.github.io/aws-fsx-csi-driver",
        "aws-fsx-csi-driver.values.yaml",
        "kubernetes-sigs/aws-fsx-csi-driver helm-chart 1.17.0",
    ),
}

# Component versions that are not charts (CRD bundles, operators installed by other means).
COMPONENT_VERSIONS: dict[str, str] = {
    "lws": "v0.10.0",
    "nv-ipam": "v0.4.0",
    "prometheus-operator-crds": "v0.93.0",
    "gateway-api-inference-extension": "v1.6.0",
}

DYNAMO_VERSION = "1.4.0"

# Images are pinned to a version, never `latest`.
IMAGES: dict[str, str] = {
    "vllm": f"nvcr.io/nvidia/ai-dynamo/vllm-runtime:{DYNAMO_VERSION}",
    "sglang": f"nvcr.io/nvidia/ai-dynamo/sglang-runtime:{DYNAMO_VERSION}",
    "trtllm": f"nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:{DYNAMO_VERSION}",
    "frontend": f"nvcr.io/nvidia/ai-dynamo/vllm-runtime:{DYNAMO_VERSION}",
    "pytorch": "nvcr.io/nvidia/pytorch:25.08-py3",
    "triton": "nvcr.io/nvidia/tritonserver:25.08-py3",
    "modelopt": "nvcr.io/nvidia/tensorrt-llm/release:1.0.0",
    "trtllm-build": "nvcr.io/nvidia/tensorrt-llm/release:1.0.0",
    # AIPerf ships in the Dynamo runtime images; Dynamo's in-cluster benchmark Job runs it from vllm-runtime
    # (ai-dynamo/dynamo benchmarks/incluster/benchmark_job.yaml)
    "aiperf": f"nvcr.io/nvidia/ai-dynamo/vllm-runtime:{DYNAMO_VERSION}",
    "prefetch": "python:3.12.11-slim-bookworm",
    "busybox": "busybox:1.37.0",
}
