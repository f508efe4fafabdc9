"""The layers on the offline engine: what the shipped stacks register, under which component, and that it validates."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from components.loader import StackFile, read_stack_file
from stacks.engine import Plan, synth
from stacks.output import k8s_objects
from tests.tenancy.conftest import ncp_config


def registered(plan: Plan) -> Counter[tuple[str, str]]:
    """(layer component type, resource type) of every resource under the three layers."""
    out: Counter[tuple[str, str]] = Counter()
    for r in plan.resources:
        for layer in ("Tenancy", "Autoscaling", "Triton"):
            if f"inference-ra:{layer.lower()}:{layer}$" in r.urn:
                out[(layer, r.type)] += 1
    return out


@pytest.fixture(scope="module")
def ncp_plan() -> Plan:
    return synth(read_stack_file("ncp-ib"))


def test_ncp_registers_queues_tenants_keda_and_triton(ncp_plan: Plan) -> None:
    got = registered(ncp_plan)
    assert got[("Tenancy", "kubernetes:scheduling.run.ai/v2:Queue")] == 3
    nps = {r.name for r in ncp_plan.resources if r.type.endswith(":NetworkPolicy")}
    assert {"team-a/default-deny", "team-b/default-deny", "team-b/allow-triton-ingress", "gpu-acceptance/default-deny",
            "gpu-acceptance/allow-apiserver-egress"} <= nps  # fmt: skip
    assert got[("Tenancy", "kubernetes:core/v1:ResourceQuota")] == 2
    assert got[("Tenancy", "kubernetes:rbac.authorization.k8s.io/v1:Role")] == 4 + 2  # + dynamo-component-discovery
    assert got[("Autoscaling", "kubernetes:helm.sh/v4:Chart")] == 1
    assert got[("Autoscaling", "kubernetes:keda.sh/v1alpha1:ScaledObject")] == 1
    assert got[("Triton", "kubernetes:apps/v1:Deployment")] == 1
    assert got[("Triton", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")] == 1


def test_leaf_queues_depend_on_the_parent(ncp_plan: Plan) -> None:
    queues = {r.name: r for r in ncp_plan.resources if r.type.endswith(":Queue")}
    kai = next(r for r in ncp_plan.resources if r.type.endswith(":Chart") and r.name == "kai-scheduler")
    assert queues["inference-ra"].depends_on == [kai.urn]  # the KAI chart brings the Queue CRD
    assert queues["team-a"].depends_on == sorted([kai.urn, queues["inference-ra"].urn])
    assert queues["inference-ra"].inputs["spec"]["resources"]["gpu"]["quota"] == 104


def test_keda_chart_is_pinned_into_its_namespace(ncp_plan: Plan) -> None:
    (chart,) = [r for r in ncp_plan.resources if r.type == "kubernetes:helm.sh/v4:Chart" and r.name == "keda"]
    assert chart.inputs["chart"] == "keda" and chart.inputs["version"] == "2.20.2"
    assert chart.inputs["namespace"] == "keda"
    assert any(r.type == "kubernetes:core/v1:Namespace" and r.name == "keda" for r in ncp_plan.resources)


def test_ncp_plan_validates_against_upstream(ncp_plan: Plan, validator: Any) -> None:
    findings = []
    for obj in k8s_objects(ncp_plan):
        findings += validator.validate_object(obj)
    charts = [r.inputs for r in ncp_plan.resources if r.type == "kubernetes:helm.sh/v4:Chart"]
    for c in charts:
        findings += validator.validate_chart(c)
    assert [f.render() for f in findings] == []


def test_dev_stack_without_tenants_still_isolates_its_model_namespace() -> None:
    """Issue 17 item 12: default deny plus the flows serving needs in every model namespace, tenants or not."""
    plan = synth(read_stack_file("dev"))
    got = registered(plan)
    assert not any(t.endswith((":Queue", ":ResourceQuota")) for _, t in got)
    nps = sorted(r.name for r in plan.resources if r.type.endswith(":NetworkPolicy") and r.name.startswith("dynamo/"))
    assert nps == [
        "dynamo/allow-apiserver-egress",
        "dynamo/allow-dns-egress",
        "dynamo/allow-frontend-ingress",
        "dynamo/allow-metrics-scrape",
        "dynamo/allow-nats-egress",
        "dynamo/allow-prefetch-egress",
        "dynamo/allow-same-namespace",
        "dynamo/default-deny",
    ]


def test_untenanted_graph_under_kai_gets_the_default_queue() -> None:
    cfg = ncp_config()
    cfg["serving"]["models"][1].pop("tenant")
    cfg["serving"]["models"][1]["namespace"] = "inference"
    stack = read_stack_file("ncp-ib")
    config = {k: v for k, v in stack.config.items() if not k.startswith("inference-ra:")}
    config.update({f"inference-ra:{k}": v for k, v in cfg.items()})
    plan = synth(StackFile(name="ncp-untenanted", path=stack.path, config=config))
    names = {r.name for r in plan.resources if r.type.endswith(":Queue")}
    assert names == {"inference-ra", "team-a", "team-b", "dynamo"}
    (so,) = [r for r in plan.resources if r.type.endswith(":ScaledObject")]
    assert so.inputs["metadata"]["namespace"] == "inference"
