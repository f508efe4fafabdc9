"""Reference integrity (stacks/references.py): every name a pod or custom resource refers to exists."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from components.charts import RELEASE_TYPE
from stacks.charts import render_plan
from stacks.charts.loaded import ChartHook, ChartObject, ChartView, views_from_plan
from stacks.references import check_references, refs_of
from tests.conftest import shipped_plan


def _pod(ns: str = "app", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "c", "image": "x:1"}], **spec}}},
    }


def _plan(*objects: dict[str, Any]) -> dict[str, Any]:
    resources = []
    for i, o in enumerate(objects):
        resources.append({"urn": f"urn:{i}", "type": f"kubernetes:x/v1:{o['kind']}", "inputs": o})
    return {"resources": resources}


def _view(*objects: dict[str, Any], chart: str = "demo", hooks: tuple[ChartHook, ...] = ()) -> ChartView:
    objs = tuple(ChartObject(f"{chart}/templates/t{i}.yaml", f"f{i}", o) for i, o in enumerate(objects))
    return ChartView(
        "urn:pulumi:s::p::kubernetes:helm.sh/v4:Chart::rel", "rel", "app", chart, "1.0", "helm.v4.Chart", objs, hooks
    )


def _messages(plan: dict[str, Any], views: list[ChartView] | None = None) -> list[str]:
    return [f"{f.resource} {f.path}: {f.message}" for f in check_references(plan, views or [])]


@pytest.mark.parametrize(
    ("spec", "what"),
    [
        ({"serviceAccountName": "runner"}, "ServiceAccount app/runner"),
        ({"volumes": [{"name": "v", "secret": {"secretName": "tls"}}]}, "Secret app/tls"),
        ({"volumes": [{"name": "v", "configMap": {"name": "cfg"}}]}, "ConfigMap app/cfg"),
        (
            {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]},
            "PersistentVolumeClaim app/data",
        ),
        ({"priorityClassName": "high"}, "PriorityClass high"),
        ({"runtimeClassName": "nvidia"}, "RuntimeClass nvidia"),
        ({"resourceClaims": [{"name": "c", "resourceClaimTemplateName": "rct"}]}, "ResourceClaimTemplate app/rct"),
        ({"imagePullSecrets": [{"name": "pull"}]}, "Secret app/pull"),
    ],
)
def test_rejects_a_pod_reference_nothing_creates(spec: dict[str, Any], what: str) -> None:
    messages = _messages(_plan(_pod(**spec)))
    assert len(messages) == 1 and f"references {what}, which neither the plan nor any chart creates" in messages[0]


def test_rejects_env_and_envfrom_references() -> None:
    pod = _pod()
    pod["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k", "optional": True}}},
    ]
    pod["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [{"configMapRef": {"name": "env"}}]
    messages = _messages(_plan(pod))
    assert [m.split(" spec.")[0] for m in messages] == ["Deployment app/web", "Deployment app/web"]
    assert "Secret app/s" in messages[0] and "ConfigMap app/env" in messages[1]  # the optional one is not required


def test_accepts_references_to_plan_chart_and_builtin_objects() -> None:
    pod = _pod(serviceAccountName="default", volumes=[{"name": "v", "secret": {"secretName": "tls"}}])
    pod["spec"]["template"]["spec"]["priorityClassName"] = "system-node-critical"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls", "namespace": "app"}}
    assert _messages(_plan(pod), [_view(secret)]) == []
    assert _messages(_plan(pod, secret)) == []


def test_rejects_kai_queue_nad_and_ippool_references() -> None:
    pod = _pod()
    pod["spec"]["template"]["metadata"] = {
        "labels": {"kai.scheduler/queue": "team-a"},
        "annotations": {"k8s.v1.cni.cncf.io/networks": "rail-0,other/rail-1@net1"},
    }
    nad = {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": "rail-0", "namespace": "app"},
        "spec": {"config": '{"ipam": {"type": "nv-ipam", "poolName": "pool-0"}}'},
    }
    messages = _messages(_plan(pod, nad))
    assert any("Queue team-a" in m for m in messages)
    assert any("NetworkAttachmentDefinition other/rail-1" in m for m in messages)
    assert not any("references NetworkAttachmentDefinition app/rail-0" in m for m in messages)
    assert any("IPPool pool-0" in m for m in messages)


def test_network_operator_networks_create_their_nad_at_run_time() -> None:
    """A MacvlanNetwork renders a NAD of its name in spec.networkNamespace (runtime catalog, derived)."""
    pod = _pod()
    pod["spec"]["template"]["metadata"] = {"annotations": {"k8s.v1.cni.cncf.io/networks": "rail-0"}}
    net = {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "MacvlanNetwork",
        "metadata": {"name": "rail-0"},
        "spec": {"networkNamespace": "app", "ipam": '{"type": "nv-ipam", "poolName": "rail-0"}'},
    }
    pool = {
        "apiVersion": "nv-ipam.nvidia.com/v1alpha1",
        "kind": "IPPool",
        "metadata": {"name": "rail-0", "namespace": "nvi"},
    }
    assert _messages(_plan(pod, net, pool)) == []
    net["spec"]["networkNamespace"] = "elsewhere"
    assert len(_messages(_plan(pod, net, pool))) == 1


def test_service_monitor_needs_a_service_with_its_labels() -> None:
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "m", "namespace": "mon"},
        "spec": {"selector": {"matchLabels": {"app": "x"}}, "namespaceSelector": {"matchNames": ["app"]}},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "app", "labels": {"app": "x"}},
    }
    assert _messages(_plan(monitor, service)) == []
    assert "a Service labelled {'app': 'x'} in app" in _messages(_plan(monitor))[0]


def test_operator_created_objects_need_their_operator_in_the_stack() -> None:
    pod = _pod(runtimeClassName="nvidia")
    assert len(_messages(_plan(pod))) == 1
    assert _messages(_plan(pod), [_view(chart="gpu-operator")]) == []


def test_a_hook_object_of_a_v4_chart_does_not_exist() -> None:
    pod = _pod(volumes=[{"name": "v", "configMap": {"name": "made-by-hook"}}])
    hook = ChartHook("ConfigMap", "made-by-hook", "app", "demo/templates/hook.yaml", ("pre-install",), runs=False)
    messages = _messages(_plan(), [_view(pod, hooks=(hook,))])
    assert len(messages) == 1 and "only as a Helm hook (demo/templates/hook.yaml, pre-install)" in messages[0]
    assert "helm.v3.Release" in messages[0]
    ran = dataclasses.replace(hook, runs=True)  # a release's install hook is applied: listed among its objects
    assert "neither the plan nor any chart" in _messages(_plan(), [_view(pod, hooks=(ran,))])[0]


def _kps_with(values_edit: Any, release: bool = False) -> list[str]:
    """The dev stack with kube-prometheus-stack's values edited (and optionally deployed as helm.v3.Release)."""
    plan = copy.copy(shipped_plan("dev"))
    resources = []
    for r in plan.resources:
        if r.name == "kube-prometheus-stack" and r.type.startswith("kubernetes:helm.sh"):
            inputs = copy.deepcopy(r.inputs)
            values_edit(inputs["values"])
            r = dataclasses.replace(r, inputs=inputs, type=RELEASE_TYPE if release else r.type)
        resources.append(r)
    plan.resources = resources
    plan.charts = render_plan(plan)
    return [f.render() for f in check_references(plan.to_json(), views_from_plan(plan), plan.spec)]


def test_catches_the_kube_prometheus_stack_admission_secret_on_the_values_before_the_fix() -> None:
    """The values the stack passed before issue 16 item 3: the operator mounts a Secret only a hook creates."""
    findings = _kps_with(lambda v: v.pop("prometheusOperator"))
    assert len(findings) == 1
    assert "Secret monitoring/kube-prometheus-stack-admission" in findings[0]
    assert (
        "only the Helm hook templates/prometheus-operator/admission-webhooks/job-patch/job-createSecret.yaml"
        in (findings[0])
    )
    assert "prometheusOperator.admissionWebhooks.enabled=false" in findings[0]


def test_a_release_runs_the_hook_that_creates_the_admission_secret() -> None:
    assert _kps_with(lambda v: v.pop("prometheusOperator"), release=True) == []


def test_references_of_a_dynamo_graph_include_its_queue_annotation() -> None:
    dgd = {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": "g", "namespace": "app", "annotations": {"nvidia.com/kai-scheduler-queue": "q"}},
        "spec": {"components": []},
    }
    assert [(r.kind, r.name) for r in refs_of([("kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment", dgd)])] == [
        ("Queue", "q")
    ]
