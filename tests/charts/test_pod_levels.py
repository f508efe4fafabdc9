"""Chart pods under the Pod Security Standards: hardened through chart values where the chart reads them
(components/catalog/chart_security.py), upstream gaps recorded where it does not, and every namespace labelled with
the level its pods (rendered and operator-created) need (components/catalog/pod_levels.py)."""

from __future__ import annotations

from typing import Any

import pytest

from components.catalog.chart_security import KAI_CONTAINER, NATS_POD, RESTRICTED_CONTAINER
from components.catalog.pod_levels import CHART_PODS, OPERATOR_NAMESPACES, loosest
from components.namespaces import chart_releases, namespace_pss_level
from policies import pss
from policies.workloads import pods
from stacks.charts.loaded import ChartView, child_type, views_from_plan
from tests.conftest import SHIPPED_STACKS, shipped_plan


def _view(stack: str, chart: str) -> ChartView:
    return next(v for v in views_from_plan(shipped_plan(stack)) if v.chart == chart)


def _template(view: ChartView, kind: str, suffix: str) -> dict[str, Any]:
    obj = next(o for o in view.objects if o.kind == kind and o.name.endswith(suffix))
    return dict(obj.obj["spec"]["template"])


def test_nats_runs_restricted_through_its_merge_values() -> None:
    tmpl = _template(_view("dev", "dynamo-platform"), "StatefulSet", "-nats")
    assert tmpl["spec"]["securityContext"] == NATS_POD
    containers = {c["name"]: c["securityContext"] for c in tmpl["spec"]["containers"]}
    assert containers == {"nats": RESTRICTED_CONTAINER, "reloader": RESTRICTED_CONTAINER,
                          "prom-exporter": RESTRICTED_CONTAINER}  # fmt: skip
    assert tmpl["spec"]["automountServiceAccountToken"] is False  # no API calls: no token (checkov CKV_K8S_38)
    assert tmpl["spec"]["shareProcessNamespace"] is True  # why the reloader shares the server's UID
    assert pss.check_pod(tmpl["spec"], "restricted", tmpl["metadata"]) == []


def test_dynamo_operator_runs_restricted() -> None:
    tmpl = _template(_view("dev", "dynamo-platform"), "Deployment", "-controller-manager")
    for c in [*tmpl["spec"].get("initContainers", []), *tmpl["spec"]["containers"]]:
        assert c["securityContext"] == RESTRICTED_CONTAINER, c["name"]
    assert pss.check_pod(tmpl["spec"], "restricted", tmpl["metadata"]) == []


def test_kai_operator_and_the_services_it_deploys_get_the_restricted_context() -> None:
    kai = _view("ncp-ib", "kai-scheduler")
    tmpl = _template(kai, "Deployment", "kai-operator")
    assert pss.check_pod(tmpl["spec"], "restricted", tmpl["metadata"]) == []
    config = next(o for o in kai.objects if o.kind == "Config" and o.name == "kai-config")
    assert config.obj["spec"]["global"]["securityContext"] == KAI_CONTAINER
    # the reservation Namespace is the stack's (components/namespaces.py), not the chart's (lookup-gated there)
    assert not [o for o in kai.objects if o.kind == "Namespace" and o.name == "kai-resource-reservation"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_chart_releases_are_the_plans_charts(stack: str) -> None:
    plan = shipped_plan(stack)
    found: dict[str, set[str]] = {}
    for v in views_from_plan(plan):
        if v.namespace != "kube-system":
            found.setdefault(v.namespace, set()).add(v.chart)
    assert found == chart_releases(plan.spec)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_catalog_levels_are_what_the_rendered_pods_need(stack: str) -> None:
    """`rendered` of each chart is exactly the loosest level its pods in the release namespace need."""
    for view in views_from_plan(shipped_plan(stack)):
        levels = [
            pss.minimal_level(p.spec, {})
            for o in view.objects
            for p in pods(child_type(str(o.obj.get("apiVersion")), o.kind), o.obj)
            if p.namespace == view.namespace
        ]
        if levels:
            assert loosest(*levels) == CHART_PODS[view.chart].rendered, view.chart


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_namespaces_enforce_what_their_pods_need(stack: str) -> None:
    spec = shipped_plan(stack).spec
    for ns, charts in chart_releases(spec).items():
        want = loosest(*(CHART_PODS[c].needs for c in charts))
        assert namespace_pss_level(spec, ns) == want, ns
    assert namespace_pss_level(spec, "monitoring") == "restricted"  # node-exporter runs in kube-system
    if stack == "ncp-ib":
        assert namespace_pss_level(spec, "keda") == "restricted"
        assert namespace_pss_level(spec, "dynamo-system") == "restricted"
        assert namespace_pss_level(spec, "kai-scheduler") == "restricted"
        assert namespace_pss_level(spec, "grove-system") == "baseline"  # upstream gap
        assert namespace_pss_level(spec, "network-operator") == "privileged"  # NicClusterPolicy operands
        assert namespace_pss_level(spec, "kai-resource-reservation") == "baseline"
    assert {o.namespace for o in OPERATOR_NAMESPACES} == {"kai-resource-reservation"}
