"""Pinned component versions: Helm charts and container images.

Chart versions match ../shared/upstream (see its SOURCES.md), so every values key we set is validated against the
values.yaml of the version we deploy. `values_file` names that file in the chart-values directory.

Every chart also records how it is deployed and why (issue 16 item 3): `helm.v4.Chart` renders client-side and
never runs Helm hooks (pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go sets `DisableHooks = true` and
registers only the release manifest), so a chart pinned as `chart` must install without them; a chart that needs
its hooks is deployed as `helm.v3.Release` (Helm itself runs them). `validate` fails when a `chart`-pinned chart
renders a hook that creates an object another template references (stacks/references.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Deploy = Literal["chart", "release"]


@dataclass(frozen=True)
class MirrorValue:
    """A chart value naming an image the rendered objects do not show (an operator injects it at run time), and
    its upstream default: with `images.mirror` set the value becomes the default under the mirror.

    form: `repository` (a registry or repository prefix), `image` (a full reference), or `env` (`default` holds
    `NAME=repository` items of an env list the chart passes to its operator).
    """

    path: str
    default: str | tuple[str, ...]
    form: Literal["repository", "image", "env"] = "repository"


@dataclass(frozen=True)
class ChartRef:
    chart: str
    version: str
    repo: str  # Helm repository URL; empty when `chart` is an oci:// reference
    values_file: str  # file name under INFERENCE_RA_CHART_VALUES_DIR
    source: str
    # Why the reference set has no values.yaml for this chart, if it has none: `validate` then reports the chart as
    # not validated (a note naming this reason) instead of failing, and the README lists it. Empty = must validate.
    reference_missing: str = ""
    # helm.v4.Chart (`chart`) or helm.v3.Release (`release`), and why: which hooks the chart has, what they do, and
    # what the stack sets so that none is needed (or why Helm must run them).
    deploy: Deploy = "chart"
    hooks: str = ""
    mirror_values: tuple[MirrorValue, ...] = ()

    @property
    def name(self) -> str:
        """The chart's own name (Chart.yaml `name`): its directory / `<name>-<version>.tgz` in a local chart
        directory and its name under an OCI mirror prefix."""
        return self.chart.rstrip("/").rsplit("/", 1)[-1]


CHARTS: dict[str, ChartRef] = {
    "gpu-operator": ChartRef(
        "gpu-operator",
        "v26.7.0",
        "https://helm.ngc.nvidia.com/nvidia",
        "gpu-operator.values.yaml",
        "NVIDIA/gpu-operator tag v26.7.0",
        hooks="Hooks are lifecycle only: the pre-upgrade CRD upgrade Job (the stack sets `operator.upgradeCRD: "
        "false`: helm.v4.Chart applies and updates crds/ itself), the pre-delete GPUCluster cleanup Job and the NFD "
        "post-delete prune Job (uninstall-time; with helm.v4.Chart an uninstall leaves NFD node labels, "
        "docs/charts.md). None creates an object another template uses.",
    ),
    "network-operator": ChartRef(
        "network-operator",
        "26.4.1",
        "https://helm.ngc.nvidia.com/nvidia",
        "network-operator.values.yaml",
        "Mellanox/network-operator tag v26.4.1",
        hooks="Pre-install/pre-upgrade hook Jobs only: the CRD upgrade Job (helm.v4.Chart applies crds/ itself) "
        "and keep-NicClusterPolicy (protects a NicClusterPolicy created by older chart versions; the stack's own "
        "NicClusterPolicy is a Pulumi resource). Neither creates an object another template uses.",
    ),
    "dynamo-platform": ChartRef(
        "dynamo-platform",
        "1.4.0",
        "https://helm.ngc.nvidia.com/nvidia/ai-dynamo",
        "dynamo-platform.values.yaml",
        "ai-dynamo/dynamo 1.4.0 branch cut (e147ceea)",
        hooks="With the KAI API present, post-install hooks create KAI Queues `dynamo` and `dynamo-default`; "
        "helm.v4.Chart does not run them, and the tenancy layer creates every queue the graphs use "
        "(serving/tenancy.py; the reference check verifies each). CRDs: the operator applies them from its image "
        "(crd-apply init container); etcd, Grove and KAI subcharts are off.",
    ),
    "kai-scheduler": ChartRef(
        "oci://ghcr.io/kai-scheduler/kai-scheduler/kai-scheduler",
        "v0.17.0",
        "",
        "kai-scheduler.values.yaml",
        "kai-scheduler/KAI-Scheduler tag v0.17.0",
        hooks="Upstream default applies the `kai-config` Config CR from a post-install hook Job "
        "(kaiConfigDeployer), which helm.v4.Chart never runs: the KAI operator would then deploy no scheduler. The "
        "stack sets `kaiConfigDeployer.enabled: false` + `kaiConfig.render: true` (upstream's GitOps mode: the CR "
        "is a release object) and `topologyMigration.enabled: false` (no Kueue topologies to migrate). Left: the "
        "pre-install CRD upgrader and its RBAC (crds/ are applied by helm.v4.Chart) and post-delete cleanup.",
        mirror_values=(MirrorValue("global.registry", "ghcr.io/kai-scheduler/kai-scheduler"),),
    ),
    "grove": ChartRef(
        "oci://ghcr.io/ai-dynamo/grove/grove-charts",
        "v0.1.0-alpha.11",
        "",
        "grove-operator.values.yaml",
        "ai-dynamo/grove tag v0.1.0-alpha.11",
        hooks="No hooks.",
        mirror_values=(
            MirrorValue(
                "deployment.env", ("GROVE_INIT_CONTAINER_IMAGE=ghcr.io/ai-dynamo/grove/grove-initc",), form="env"
            ),
        ),
    ),
    "keda": ChartRef(
        "keda",
        "2.20.2",
        "https://kedacore.github.io/charts",
        "keda.values.yaml",
        "kedacore/charts keda 2.20.2",
        hooks="No hooks.",
    ),
    "kube-prometheus-stack": ChartRef(
        "kube-prometheus-stack",
        "88.5.3",
        "https://prometheus-community.github.io/helm-charts",
        "kube-prometheus-stack.values.yaml",
        "prometheus-community/helm-charts kube-prometheus-stack 88.5.3",
        hooks="Upstream default creates the operator's admission webhook TLS Secret `<release>-admission` in a "
        "pre-install hook Job (kube-webhook-certgen) and patches the webhooks post-install; helm.v4.Chart runs "
        "neither, so the operator Deployment, which mounts that Secret, never starts. The stack sets "
        "`prometheusOperator.admissionWebhooks.enabled: false` and `prometheusOperator.tls.enabled: false` (no "
        "Secret, no webhook: PrometheusRules are checked offline instead, docs/observability.md).",
        mirror_values=(
            MirrorValue("prometheusOperator.prometheusConfigReloader.image.registry", "quay.io"),
            MirrorValue("prometheusOperator.thanosImage.registry", "quay.io"),
        ),
    ),
    "aws-efa-k8s-device-plugin": ChartRef(
        "aws-efa-k8s-device-plugin",
        "v0.5.30",
        "https://aws.github.io/eks-charts",
        "aws-efa-k8s-device-plugin.values.yaml",
        "aws/eks-charts aws-efa-k8s-device-plugin v0.5.30",
        hooks="No hooks.",
    ),
    # Standalone NVIDIA DRA driver for GB200 ComputeDomains (GPUs stay with the GPU Operator's device plugin).
    # ../shared/upstream holds no values.yaml for it yet: `validate` reports that until one is added
    # (kubernetes-sigs/dra-driver-nvidia-gpu deployments/helm/dra-driver-nvidia-gpu/values.yaml at tag v0.4.1).
    "dra-driver-nvidia-gpu": ChartRef(
        "oci://registry.k8s.io/dra-driver-nvidia/charts/dra-driver-nvidia-gpu",
        "0.4.1",
        "",
        "dra-driver-nvidia-gpu.values.yaml",
        "kubernetes-sigs/dra-driver-nvidia-gpu chart 0.4.1 (the DRA driver GPU Operator v26.7.0 integrates)",
        reference_missing="../shared/upstream has no values.yaml for the DRA driver chart; the keys set "
        "(nvidiaDriverRoot, resources.gpus/computeDomains.enabled, kubeletPlugin.nodeSelector) were read from "
        "deployments/helm/dra-driver-nvidia-gpu/values.yaml at v0.4.1",
        hooks="No hooks.",
    ),
    "aws-fsx-csi-driver": ChartRef(
        "aws-fsx-csi-driver",
        "1.17.0",
        "https://kubernetes-sigs.github.io/aws-fsx-csi-driver",
        "aws-fsx-csi-driver.values.yaml",
        "kubernetes-sigs/aws-fsx-csi-driver helm-chart 1.17.0",
        hooks="No hooks.",
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

# Images are pinned to a version, never `latest`. Dynamo's runtime and EPP images are per release in
# components/catalog/dynamo.py (the serving layer takes them from `serving.dynamo.version`).
IMAGES: dict[str, str] = {
    "pytorch": "nvcr.io/nvidia/pytorch:25.08-py3",
    "triton": "nvcr.io/nvidia/tritonserver:25.08-py3",
    "modelopt": "nvcr.io/nvidia/tensorrt-llm/release:1.0.0",
    "trtllm-build": "nvcr.io/nvidia/tensorrt-llm/release:1.0.0",
    # AIPerf ships in the Dynamo runtime images; Dynamo's in-cluster benchmark Job runs it from vllm-runtime
    # (ai-dynamo/dynamo benchmarks/incluster/benchmark_job.yaml)
    "aiperf": f"nvcr.io/nvidia/ai-dynamo/vllm-runtime:{DYNAMO_VERSION}",
    # Model prefetch: a pinned Python; the Job installs pinned hub clients (PREFETCH_CLIENTS) before downloading.
    "prefetch": "python:3.12.11-slim-bookworm",
    # rancher/local-path-provisioner v0.0.32 (the release k3s 1.33 ships): local NVMe volumes.
    "local-path-provisioner": "rancher/local-path-provisioner:v0.0.32",
    "busybox": "busybox:1.37.0",
    "kubectl": "registry.k8s.io/kubectl:v1.33.4",  # node labeller of selector-based pools (gpu_nodepools)
}

# Hub clients the prefetch Job installs (exact pins; `hf` CLI and snapshot_download, NGC CLI, S3).
PREFETCH_CLIENTS: dict[str, tuple[str, ...]] = {
    "hf": ("huggingface_hub==2.4.0",),
    "ngc": ("ngcsdk==4.37.0",),
    "s3": ("boto3==1.44.8",),
}
