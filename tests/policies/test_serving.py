"""Serving rules: RDMA for disaggregated/multinode workers, a PDB per graph."""

from __future__ import annotations

from tests.policies.plans import component, container, dgd, gpu_container, k8s, violations

EFA = {"vpc.amazonaws.com/efa": 32}


def test_disaggregated_workers_with_rdma_pass() -> None:
    graph = dgd(
        components=[
            component("Frontend", "frontend", [container()]),
            component("prefill", "prefill", [gpu_container(2, EFA)]),
            component("decode", "decode", [gpu_container(4, {"rdma/rail0": 1})], multinode={"nodeCount": 2}),
        ]
    )
    assert violations("rdma-for-disaggregated", graph) == []
    aggregated = dgd(components=[component("worker", "worker", [gpu_container(1)])])
    assert violations("rdma-for-disaggregated", aggregated) == []


def test_rejects_disaggregated_or_multinode_worker_without_rdma() -> None:
    graph = dgd(
        components=[
            component("prefill", "prefill", [gpu_container(2)]),
            component("big", "worker", [gpu_container(8)], multinode={"nodeCount": 2}),
            component("w", "worker", [gpu_container(1, args=["--disaggregation-mode", "decode"])]),
        ]
    )
    found = violations("rdma-for-disaggregated", graph)
    assert sorted(m.split(": ", 1)[1].split(" (")[0] for m in found) == [
        "disaggregated worker",
        "disaggregated worker",
        "multinode worker",
    ]
    assert any("multinode worker (spec.components[1].podTemplate.spec) requests no RDMA" in m for m in found)


def _pdb(name: str, graph: str, **spec) -> dict:
    return k8s(
        "policy/v1",
        "PodDisruptionBudget",
        name,
        "dynamo",
        spec={"selector": {"matchLabels": {"nvidia.com/dynamo-graph-deployment-name": graph}}, **spec},
    )


def test_graph_with_pdb_passes() -> None:
    assert violations("pdb-per-graph", dgd("llama"), _pdb("llama", "llama", maxUnavailable=1)) == []


def test_rejects_graph_without_pdb_or_with_blocking_pdb() -> None:
    assert violations("pdb-per-graph", dgd("llama"), _pdb("other", "other", maxUnavailable=1)) == [
        "DynamoGraphDeployment dynamo/llama: graph dynamo/llama has no PodDisruptionBudget selecting "
        "nvidia.com/dynamo-graph-deployment-name=llama"
    ]
    blocking = violations("pdb-per-graph", dgd("llama"), _pdb("llama", "llama", maxUnavailable=0))
    assert len(blocking) == 1 and "allows no disruption" in blocking[0]
