"""The architecture picture: elements per layer, collapsed repeats, cross-layer edges, identical bytes per plan."""

from __future__ import annotations

from pathlib import Path

from stacks.graph import COLLAPSE_OVER, architecture_nodes, render
from tests.conftest import shipped_plan


def test_nodes_are_architecture_not_plumbing() -> None:
    nodes, edges = architecture_nodes(shipped_plan("aws-h100").to_json())
    labels = {n.label for n in nodes}
    assert "NodeGroup\ninfer-prod-h100" in labels and "DynamoGraphDeployment\nllama-70b" in labels
    assert "LustreFileSystem\ninfer-prod-model-cache" in labels
    assert not any(label.startswith(("Namespace", "Secret", "Role")) for label in labels)
    keys = {n.key: n for n in nodes}
    assert ("serving/DynamoGraphDeployment/llama-70b", "storage/PersistentVolumeClaim/model-cache") in edges
    assert all(keys[a].layer != keys[b].layer for a, b in edges)


def test_repeated_objects_are_collapsed() -> None:
    nodes, _ = architecture_nodes(shipped_plan("ncp-ib").to_json())
    collapsed = [n for n in nodes if " x " in n.label]
    assert collapsed and all(len(n.urns) > COLLAPSE_OVER for n in collapsed)


def test_render_is_deterministic(tmp_path: Path) -> None:
    plan = shipped_plan("dev").to_json()
    a = render(plan, tmp_path / "a", "dev")
    b = render(plan, tmp_path / "b", "dev")
    assert [p.name for p in a] == ["architecture-dev.svg", "architecture-dev.png"]
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert a[0].read_text().lstrip().startswith("<?xml") and a[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
