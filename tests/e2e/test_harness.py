"""The e2e harness's pure parts, offline (no binaries needed): fake nodes, the plan-vs-API-server comparison and
the predicted-vs-engine step comparison."""

from __future__ import annotations

import pytest

from components.catalog import NODE_TYPES
from components.constants import GPU_TAINT
from gpu_nodepools.acceptance import pool_node_selector
from networking.network_operator import RDMA_HCA_MAX
from tests.e2e.checks import subset_problems
from tests.e2e.nodes import SYSTEM_NODES, fake_nodes
from tests.e2e.run import compare_steps


def _spec(stack: str):  # type: ignore[no-untyped-def]
    from components.loader import read_stack_file, spec_from_stack_file

    return spec_from_stack_file(read_stack_file(stack))


@pytest.mark.parametrize("stack", ["dev", "ncp-ib"])
def test_fake_nodes_follow_the_pools(stack: str) -> None:
    spec = _spec(stack)
    nodes = fake_nodes(spec)
    gpu_nodes = [n for n in nodes if "nvidia.com/gpu" in n["status"]["capacity"]]
    assert len(gpu_nodes) == sum(p.nodes.resolved_desired for p in spec.gpu_pools)
    assert len(nodes) - len(gpu_nodes) == SYSTEM_NODES
    for pool in spec.gpu_pools:
        members = [
            n for n in gpu_nodes if n["metadata"]["labels"]["node.kubernetes.io/instance-type"] == pool.instance_type
        ]
        assert members, pool.name
        for node in members:
            labels = node["metadata"]["labels"]
            # the acceptance DaemonSet (and the labeller CronJob) find the pool's nodes by this selector
            assert pool_node_selector(pool).items() <= labels.items()
            assert node["status"]["capacity"]["nvidia.com/gpu"] == str(NODE_TYPES[pool.instance_type].gpus)
            assert node["spec"] == {}  # the GPU taint is the stack's to set (labeller / NodePatch), not ours
            assert GPU_TAINT["key"] not in str(node["spec"])


def test_fake_nodes_advertise_the_rdma_rails_serving_requests() -> None:
    spec = _spec("ncp-ib")
    node = next(n for n in fake_nodes(spec) if n["metadata"]["name"].startswith("h200"))
    rails = {k: v for k, v in node["status"]["capacity"].items() if k.startswith("rdma/")}
    assert rails == {f"rdma/rail{i}": str(RDMA_HCA_MAX) for i in range(8)}


def test_rejects_fake_nodes_for_a_cloud_cluster() -> None:
    with pytest.raises(ValueError, match="existing clusters"):
        fake_nodes(_spec("aws-h100"))


def test_subset_accepts_server_defaults_and_equal_quantities() -> None:
    expected = {"spec": {"resources": {"requests": {"cpu": "1000m", "memory": "1Gi"}}, "port": 80}}
    live = {"spec": {"resources": {"requests": {"cpu": "1", "memory": "1073741824"}}, "port": "80", "x": 1}}
    assert subset_problems(expected, live) == []


def test_subset_reports_missing_and_changed_fields() -> None:
    problems = subset_problems({"spec": {"replicas": 3, "paused": False}}, {"spec": {"replicas": 2}})
    assert problems == [".spec.replicas: expected 3, found 2", ".spec.paused: missing (expected False)"]


def test_subset_reports_a_pruned_list_item() -> None:
    assert subset_problems({"a": [1, 2]}, {"a": [1]}) == [".a: expected 2 items, found [1]"]


URN = "urn:pulumi:dev::inference-ra::inference-ra:index:InferencePlatform$kubernetes:apps/v1:Deployment::ns/d"
CHILD = "urn:pulumi:dev::inference-ra::kubernetes:helm.sh/v4:Chart$kubernetes:apps/v1:Deployment::ns/x"


def test_steps_equal_to_the_prediction_pass() -> None:
    predicted = [{"urn": URN, "type": "kubernetes:apps/v1:Deployment", "action": "change"}]
    assert compare_steps(predicted, [{"urn": URN, "type": "kubernetes:apps/v1:Deployment", "op": "update"}]) == []


def test_rejects_an_unpredicted_step() -> None:
    problems = compare_steps([], [{"urn": URN, "type": "kubernetes:apps/v1:Deployment", "op": "replace"}])
    assert problems == [f"engine did ['replace'] on {URN}, not predicted by inference-ra diff"]


def test_rejects_a_predicted_change_the_engine_did_not_make() -> None:
    predicted = [{"urn": URN, "type": "kubernetes:apps/v1:Deployment", "action": "add"}]
    assert compare_steps(predicted, []) == [f"predicted add of {URN}, engine did nothing"]


def test_rejects_chart_children_changing_without_a_chart_change() -> None:
    problems = compare_steps([], [{"urn": CHILD, "type": "kubernetes:apps/v1:Deployment", "op": "update"}])
    assert problems == ["engine changed 1 chart-rendered object(s) but no chart's inputs changed"]
