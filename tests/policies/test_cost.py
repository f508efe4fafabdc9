"""Cost cap: catalog price x max nodes, from node groups or from declared pools."""

from __future__ import annotations

from policies.cost import capacities
from tests.policies.plans import as_resource, aws, violations

NG = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"


def _groups() -> list[dict]:
    lt = aws(LT, "h100-lt", {"instanceType": "p5.48xlarge"})
    gpu = aws(NG, "h100", {"scalingConfig": {"maxSize": 16}, "launchTemplate": {"id": "lt-1"}}, depends_on=[lt["urn"]])
    system = aws(NG, "system", {"instanceTypes": ["m7i.4xlarge"], "scalingConfig": {"maxSize": 6}})
    return [lt, gpu, system]


def test_capacity_from_node_groups_and_launch_templates() -> None:
    caps = capacities([as_resource(e) for e in _groups()], {})
    h100 = next(c for c in caps if c.name == "h100")
    assert (h100.node_type, h100.max_nodes, round(h100.hourly, 2)) == ("p5.48xlarge", 16, 880.64)
    assert next(c for c in caps if c.name == "system").price is None  # CPU nodes: outside the catalog


def test_under_cap_passes() -> None:
    assert violations("cost-cap", *_groups(), maxHourlyCostUsd=1000) == []
    assert violations("cost-cap", *_groups()) == []  # no cap configured


def test_rejects_stack_over_cap() -> None:
    assert violations("cost-cap", *_groups(), maxHourlyCostUsd=500) == [
        "(stack): worst-case cost $880.64/hour exceeds the cap $500.00/hour (h100 16x p5.48xlarge $880.64, "
        "system 6x m7i.4xlarge $0.00)"
    ]


def test_declared_pools_priced_when_no_node_groups() -> None:
    pools = [{"name": "gb200", "nodeType": "gb200-nvl72-tray", "maxNodes": 18}]
    assert violations("cost-cap", declaredPools=pools, maxHourlyCostUsd=756) == []
    found = violations("cost-cap", declaredPools=pools, maxHourlyCostUsd=700)
    assert found == [
        "(stack): worst-case cost $756.00/hour exceeds the cap $700.00/hour (gb200 18x gb200-nvl72-tray $756.00)"
    ]


def test_rejects_unpriced_gpu_node_type() -> None:
    ng = aws(NG, "mystery", {"instanceTypes": ["p9.96xlarge"], "scalingConfig": {"maxSize": 1}})
    assert violations("cost-cap", ng, maxHourlyCostUsd=10_000)[0].startswith("(stack): cannot price GPU node types p9")
    assert violations("cost-cap", ng, maxHourlyCostUsd=10_000, pricesUsd={"p9.96xlarge": 100.0}) == []
