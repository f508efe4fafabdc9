"""GPU rules: pool taints, GPU pod tolerations and limits, DCGM exporter."""

from __future__ import annotations

from components.constants import GPU_TAINT, GPU_TOLERATION
from tests.policies.plans import aws, component, container, deployment, dgd, gpu_container, k8s, violations

NG = "aws:eks/nodeGroup:NodeGroup"
TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}


def _ng(name: str, taints: list, **extra) -> dict:
    return aws(NG, name, {"instanceTypes": ["p5.48xlarge"], "scalingConfig": {"maxSize": 2}, "taints": taints, **extra})


def test_tainted_gpu_node_group_passes() -> None:
    cpu = aws(NG, "system", {"instanceTypes": ["m7i.4xlarge"], "scalingConfig": {"maxSize": 3}})
    assert violations("gpu-pools-tainted", _ng("h100", [TAINT]), cpu) == []


def test_rejects_untainted_gpu_node_group_and_node() -> None:
    by_ami = aws(NG, "byami", {"amiType": "AL2023_x86_64_NVIDIA", "taints": [{**TAINT, "effect": "NO_EXECUTE"}]})
    node = k8s("v1", "Node", "gpu-node-1")
    node["type"] = "kubernetes:core/v1:NodePatch"
    node["inputs"]["metadata"]["labels"] = {"inference-ra.nvidia.com/pool": "h200"}
    found = violations("gpu-pools-tainted", _ng("h100", []), by_ami, node)
    assert found == [
        "NodeGroup byami: GPU node group 'byami' has no nvidia.com/gpu NO_SCHEDULE taint",
        "NodeGroup h100: GPU node group 'h100' has no nvidia.com/gpu NO_SCHEDULE taint",
        "NodePatch gpu-node-1: GPU node 'gpu-node-1' is labelled for a GPU pool but has no nvidia.com/gpu:NoSchedule "
        "taint",
    ]
    node["inputs"]["spec"] = {"taints": [GPU_TAINT]}
    assert len(violations("gpu-pools-tainted", node)) == 0


def test_gpu_pod_with_toleration_and_limit_passes() -> None:
    pod = {"containers": [gpu_container(2)], "tolerations": [GPU_TOLERATION]}
    assert violations("gpu-workloads-tolerate-and-limit", deployment(pod=pod)) == []
    # a CPU pod needs neither
    assert violations("gpu-workloads-tolerate-and-limit", deployment()) == []


def test_rejects_gpu_pod_without_toleration_or_limit() -> None:
    c = container()
    c["resources"]["requests"]["nvidia.com/gpu"] = 1
    found = violations("gpu-workloads-tolerate-and-limit", deployment(pod={"containers": [c]}))
    assert sorted(m.split(": ", 1)[1] for m in found) == [
        "GPU pod template spec.template.spec does not tolerate the nvidia.com/gpu:NoSchedule taint",
        "container 'main' (spec.template.spec.containers[0]) requests nvidia.com/gpu without a limit; set it in limits",
    ]


def test_rejects_dynamo_worker_without_gpus() -> None:
    graph = dgd(
        components=[
            component("Frontend", "frontend", [container()]),
            component("decode", "decode", [container()]),
        ]
    )
    assert violations("gpu-workloads-tolerate-and-limit", graph) == [
        "DynamoGraphDeployment dynamo/llama: Dynamo decode component (spec.components[1].podTemplate.spec) asks for "
        "no GPUs; set limits['nvidia.com/gpu']"
    ]


def test_rejects_v1alpha1_service_without_toleration() -> None:
    graph = k8s(
        "nvidia.com/v1alpha1",
        "DynamoGraphDeployment",
        "old",
        "dynamo",
        spec={
            "services": {
                "VllmWorker": {
                    "componentType": "worker",
                    "resources": {"limits": {"gpu": "1"}},
                    "extraPodSpec": {"mainContainer": {"image": "nvcr.io/x:1"}},
                }
            }
        },
    )
    assert violations("gpu-workloads-tolerate-and-limit", graph) == [
        "DynamoGraphDeployment dynamo/old: GPU pod template spec.services.VllmWorker.extraPodSpec does not tolerate "
        "the nvidia.com/gpu:NoSchedule taint"
    ]
    graph["inputs"]["spec"]["services"]["VllmWorker"]["extraPodSpec"]["tolerations"] = [GPU_TOLERATION]
    assert violations("gpu-workloads-tolerate-and-limit", graph) == []


def _chart(values: dict) -> dict:
    return aws(
        "kubernetes:helm.sh/v4:Chart",
        "gpu-operator",
        {"chart": "gpu-operator", "version": "v26.7.0", "namespace": "gpu-operator", "values": values},
    )


def _cluster_policy(dcgm: dict) -> dict:
    """The ClusterPolicy the GPU Operator chart renders (synth renders charts; CrossGuard sees chart children)."""
    return k8s("nvidia.com/v1", "ClusterPolicy", "cluster-policy", spec={"dcgmExporter": dcgm})


def test_dcgm_exporter_on_passes() -> None:
    assert violations("dcgm-exporter-enabled", _ng("h100", [TAINT]), _cluster_policy({"enabled": True})) == []
    assert violations("dcgm-exporter-enabled", deployment()) == []  # no GPUs, no exporter needed


def test_rejects_dcgm_exporter_off_in_the_rendered_cluster_policy_whatever_the_chart_values_say() -> None:
    """The rule reads what the chart renders (the ClusterPolicy), not the chart resource's values."""
    off = violations(
        "dcgm-exporter-enabled",
        _ng("h100", [TAINT]),
        _chart({"dcgmExporter": {"enabled": True}}),
        _cluster_policy({"enabled": False}),
    )
    assert off == [
        "ClusterPolicy cluster-policy: ClusterPolicy spec.dcgmExporter.enabled is false; GPU metrics are lost"
    ]


def test_rejects_dcgm_exporter_missing() -> None:
    missing = violations("dcgm-exporter-enabled", _ng("h100", [TAINT]), _chart({"dcgmExporter": {"enabled": True}}))
    assert missing == [
        "(stack): the stack runs GPU nodes or GPU pods but deploys no DCGM exporter (GPU Operator or dcgm-exporter)"
    ]
