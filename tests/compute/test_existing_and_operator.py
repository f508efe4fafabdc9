"""Existing-cluster pools (NodePatch / labeller), GPU Operator values, and the GB200 DRA driver + ComputeDomain —
pure builders, the ncp-ib and dev plans, and validation against ../shared/upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.catalog import CHARTS
from components.charts import chart_values
from components.constants import FABRIC_LABEL, GPU_MODEL_LABEL, POOL_LABEL
from gpu_nodepools.existing import labeller_cronjob, node_patch
from gpu_nodepools.operator import compute_domain, dra_driver_values, gpu_operator_values
from stacks.validate import Validator, unknown_value_keys
from tests.compute.conftest import UPSTREAM, one, resources, spec_of, stack_mapping, synth_mapping

CHART = "kubernetes:helm.sh/v4:Chart"
VALUES = UPSTREAM / "chart-values"
needs_upstream = pytest.mark.skipif(not UPSTREAM.is_dir(), reason="../shared/upstream is absent")


def _defaults(name: str) -> Any:
    return yaml.safe_load(Path(VALUES / name).read_text())


# ------------------------------------------------------------------------------------- GPU Operator values
def test_operator_values_aws_driver_off_toolkit_off() -> None:
    v = gpu_operator_values(spec_of(stack_mapping("aws-h100")))
    assert v["driver"] == {"enabled": False}
    assert v["toolkit"] == {"enabled": False}
    assert v["gds"] == {"enabled": False} and v["gdrcopy"] == {"enabled": False}
    # our DCGM counter set, and the observability layer's ServiceMonitor instead of the chart's
    assert v["dcgmExporter"] == {
        "enabled": True,
        "serviceMonitor": {"enabled": False},
        "config": {"name": "inference-ra-dcgm-metrics"},
    }
    assert v["migManager"] == {"enabled": False} and "mig" not in v


def test_operator_values_bare_metal_driver_on_with_rdma() -> None:
    v = gpu_operator_values(spec_of(stack_mapping("ncp-ib")))
    assert v["driver"]["enabled"] is True
    assert v["driver"]["version"] == "580.95.05"
    assert v["driver"]["rdma"] == {"enabled": True, "useHostMofed": False}
    assert v["toolkit"] == {"enabled": True}
    assert v["gds"] == {"enabled": True} and v["gdrcopy"] == {"enabled": True}
    assert v["nodeStatusExporter"] == {"enabled": True}
    assert v["daemonsets"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_operator_values_rdma_follows_fabric_when_unset() -> None:
    d = stack_mapping("ncp-ib")
    d["gpuOperator"].pop("rdma")
    assert gpu_operator_values(spec_of(d))["driver"]["rdma"]["enabled"] is True  # infiniband
    dev = gpu_operator_values(spec_of(stack_mapping("dev")))
    assert dev["driver"]["rdma"]["enabled"] is False  # tcp


def test_operator_values_mig_and_extra_taints() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0]["mig"] = {"strategy": "mixed", "config": "all-balanced", "profiles": ["1g.10gb", "3g.40gb"]}
    d["gpuPools"][0]["taints"] = [{"key": "dedicated", "value": "inference", "effect": "NoExecute"}]
    v = gpu_operator_values(spec_of(d))
    assert v["mig"] == {"strategy": "mixed"} and v["migManager"] == {"enabled": True}
    assert {"key": "dedicated", "operator": "Equal", "value": "inference", "effect": "NoExecute"} in v["daemonsets"][
        "tolerations"
    ]


@needs_upstream
@pytest.mark.parametrize("stack", ["aws-h100", "ncp-ib", "dev"])
def test_operator_values_keys_exist_upstream(stack: str) -> None:
    values = gpu_operator_values(spec_of(stack_mapping(stack)))
    path = VALUES / "gpu-operator.values.yaml"  # `dcgmExporter.config` is documented there as a commented-out key
    assert unknown_value_keys(values, _defaults("gpu-operator.values.yaml"), values_path=str(path)) == []


# ------------------------------------------------------------------------------------ existing-cluster pools
def test_node_patch_labels_and_taint() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0].pop("nodeSelector")
    d["gpuPools"][0]["nodeNames"] = ["dgx-01"]
    spec = spec_of(d)
    m = node_patch(spec, spec.gpu_pools[0], "dgx-01")
    assert m["metadata"]["name"] == "dgx-01"
    assert m["metadata"]["labels"] == {
        FABRIC_LABEL: "tcp",
        GPU_MODEL_LABEL: "h100-sxm-80gb",
        POOL_LABEL: "h100",
    }
    assert m["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]


def test_labeller_applies_selector_labels_and_taint() -> None:
    spec = spec_of(stack_mapping("ncp-ib"))
    job = labeller_cronjob(spec, spec.gpu_pools[1])
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    label_args = pod["initContainers"][0]["args"]
    assert label_args[:5] == ["label", "nodes", "--selector", "ncp.example.com/sku=gb200-nvl72", "--overwrite"]
    assert f"{POOL_LABEL}=gb200" in label_args and "inference-ra.nvidia.com/compute-domain=true" in label_args
    assert pod["containers"][0]["args"][-1] == "nvidia.com/gpu=present:NoSchedule"
    assert pod["serviceAccountName"] == "inference-ra-node-labeller"


def test_plan_dev_nodepatch_for_named_nodes() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0].pop("nodeSelector")
    d["gpuPools"][0]["nodeNames"] = ["dgx-01", "dgx-02"]
    plan = synth_mapping("dev-named", d)
    patches = resources(plan, "kubernetes:core/v1:NodePatch")
    assert [p.inputs["metadata"]["name"] for p in patches] == ["dgx-01", "dgx-02"]
    assert patches[0].inputs["spec"]["taints"][0]["key"] == "nvidia.com/gpu"
    assert resources(plan, "kubernetes:batch/v1:CronJob") == []
    if UPSTREAM.is_dir():
        v = Validator("1.33", UPSTREAM / "crds", VALUES)
        assert [f.render() for p in patches for f in v.validate_object(p.inputs)] == []


# --------------------------------------------------------------------------------------- ncp-ib: GB200 DRA
def test_compute_domain_manifest() -> None:
    spec = spec_of(stack_mapping("ncp-ib"))
    cd = compute_domain(spec.gpu_pools[1], "team-a")
    assert cd["metadata"]["name"] == "gb200-nvlink" and cd["metadata"]["namespace"] == "team-a"
    assert cd["spec"] == {
        "numNodes": 0,
        "channel": {"resourceClaimTemplate": {"name": "gb200-nvlink-channel"}, "allocationMode": "Single"},
    }


def test_plan_ncp_ib_operator_dra_and_compute_domain(plans: Any) -> None:
    plan = plans("ncp-ib")
    op = one(plan, CHART, "gpu-operator").inputs
    assert op["version"] == "v26.7.0" and op["values"]["driver"]["enabled"] is True
    dra = one(plan, CHART, "nvidia-dra-driver").inputs
    assert dra["chart"] == "oci://registry.k8s.io/dra-driver-nvidia/charts/dra-driver-nvidia-gpu"
    assert dra["version"] == "0.4.1" and dra["namespace"] == "nvidia-dra-driver" and dra["skipCrds"] is True
    spec = spec_of(stack_mapping("ncp-ib"))
    # the layer's values plus the catalog's container resources of chart pods (components/charts.chart_values)
    assert dra["values"] == chart_values(CHARTS["dra-driver-nvidia-gpu"], dra_driver_values(spec), spec.images)
    assert dra["values"]["resourceApiVersion"] == "resource.k8s.io/v1beta2"  # Kubernetes 1.33 serves no v1
    assert dra["values"]["nvidiaDriverRoot"] == "/run/nvidia/driver"
    assert dra["values"]["resources"] == {"gpus": {"enabled": False}, "computeDomains": {"enabled": True}}
    cds = resources(plan, "kubernetes:resource.nvidia.com/v1beta1:ComputeDomain")
    assert [(c.inputs["metadata"]["namespace"], c.inputs["metadata"]["name"]) for c in cds] == [
        ("team-a", "gb200-nvlink")
    ]
    crons = resources(plan, "kubernetes:batch/v1:CronJob")
    assert sorted(c.inputs["metadata"]["name"] for c in crons) == [
        "inference-ra-node-labeller-gb200",
        "inference-ra-node-labeller-h200",
    ]


def test_aws_has_no_dra_driver(plans: Any) -> None:
    charts = [r.inputs["chart"] for r in resources(plans("aws-h100"), CHART)]
    assert "gpu-operator" in charts
    assert not [c for c in charts if "dra-driver" in c]


@needs_upstream
@pytest.mark.parametrize("stack", ["aws-h100", "ncp-ib", "dev"])
def test_compute_objects_validate_upstream(plans: Any, stack: str) -> None:
    """Every Kubernetes object and the gpu-operator chart values of the stack validate against upstream schemas."""
    plan = plans(stack)
    v = Validator(plan.spec.cluster.kubernetes_version, UPSTREAM / "crds", VALUES)
    findings = []
    for r in plan.resources:
        if r.type == CHART and r.inputs["chart"] == "gpu-operator":
            findings += v.validate_chart(r.inputs)
        elif r.type.startswith("kubernetes:") and r.type != CHART and "kind" in r.inputs:
            findings += v.validate_object(r.inputs)
    assert [f.render() for f in findings] == []


def test_dra_values_keys_exist_upstream_when_available() -> None:
    path = VALUES / "dra-driver-nvidia-gpu.values.yaml"
    if not path.is_file():
        pytest.skip("no dra-driver-nvidia-gpu values.yaml in ../shared/upstream yet")
    values = dra_driver_values(spec_of(stack_mapping("ncp-ib")))
    assert unknown_value_keys(values, yaml.safe_load(path.read_text())) == []
