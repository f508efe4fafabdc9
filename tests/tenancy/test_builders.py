"""Pure builders: queues, tenant quota / policies / RBAC, Triton objects and KEDA ScaledObjects, valid upstream."""

from __future__ import annotations

from typing import Any

import pytest

from components.constants import GPU_TOLERATION, MODEL_CACHE_CLAIM, POOL_LABEL
from serving import keda, netpolicy, tenancy, triton
from tests.tenancy.conftest import make_spec


def by_name(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests}


# ---- KAI queues --------------------------------------------------------------------------------------------------
def test_queues_hang_tenants_under_a_parent_with_their_quota(ncp: dict[str, Any]) -> None:
    qs = tenancy.kai_queues(make_spec(ncp))
    assert [q["metadata"]["name"] for q in qs] == ["inference-ra", "team-a", "team-b"]
    parent, a, b = qs
    assert "parentQueue" not in parent["spec"]
    assert parent["spec"]["resources"]["gpu"] == {"quota": 104, "limit": -1, "overQuotaWeight": 1}
    assert a["spec"]["parentQueue"] == b["spec"]["parentQueue"] == "inference-ra"
    assert a["spec"]["resources"]["gpu"] == {"quota": 72, "limit": -1, "overQuotaWeight": 2}
    assert b["spec"]["resources"]["gpu"] == {"quota": 32, "limit": 64, "overQuotaWeight": 1}
    assert b["spec"]["resources"]["cpu"] == {"quota": -1, "limit": -1, "overQuotaWeight": 1}
    assert "priority" not in a["spec"]


def test_queue_priority_is_passed_through(ncp: dict[str, Any]) -> None:
    ncp["scheduling"]["queues"][0]["priority"] = 200
    assert tenancy.kai_queues(make_spec(ncp))[1]["spec"]["priority"] == 200


def test_no_queues_without_kai(ncp: dict[str, Any]) -> None:
    ncp["serving"]["dynamo"]["kaiScheduler"] = False
    assert tenancy.kai_queues(make_spec(ncp)) == []


def test_graph_without_tenant_gets_the_operator_default_queue(ncp: dict[str, Any]) -> None:
    ncp["serving"]["models"][1].pop("tenant")
    spec = make_spec(ncp)
    qs = by_name(tenancy.kai_queues(spec))
    assert qs["dynamo"]["spec"]["parentQueue"] == "inference-ra"
    assert qs["dynamo"]["spec"]["resources"]["gpu"]["quota"] == 0
    assert tenancy.queue_for_model(spec, spec.serving.models[1]) == "dynamo"
    assert tenancy.queue_for_model(spec, spec.serving.models[0]) == "team-a"


def test_queues_validate_against_kai_crd(ncp: dict[str, Any], validator: Any) -> None:
    ncp["serving"]["models"][1].pop("tenant")
    ncp["scheduling"]["queues"][0]["priority"] = 150
    for q in tenancy.kai_queues(make_spec(ncp)):
        assert validator.validate_object(q) == []


# ---- tenant namespace objects ------------------------------------------------------------------------------------
def test_resource_quota_caps_gpus_at_the_queue_limit(ncp: dict[str, Any]) -> None:
    spec = make_spec(ncp)
    assert tenancy.resource_quota(spec.scheduling.queues[1])["spec"]["hard"] == {
        "requests.nvidia.com/gpu": "64",
        "services.loadbalancers": "0",
    }
    ncp["scheduling"]["queues"][0].update(cpu=256, memoryGi=2048, maxPods=300, loadBalancers=1)
    hard = tenancy.resource_quota(make_spec(ncp).scheduling.queues[0])["spec"]["hard"]
    assert hard == {"requests.cpu": "256", "requests.memory": "2048Gi", "pods": "300", "services.loadbalancers": "1"}


def test_network_policies_deny_by_default_and_open_what_serving_needs(ncp: dict[str, Any]) -> None:
    spec = make_spec(ncp)
    pols = by_name(netpolicy.network_policies(spec, "team-a"))
    assert set(pols) == {
        "default-deny",
        "allow-same-namespace",
        "allow-dns-egress",
        "allow-nats-egress",
        "allow-apiserver-egress",
        "allow-metrics-scrape",
        "allow-frontend-ingress",
        "allow-prefetch-egress",
        "allow-planner-prometheus-egress",
    }  # no Triton in team-a; its model is prefetched, so its workers get no internet egress
    assert pols["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    nats = pols["allow-nats-egress"]["spec"]
    assert nats["podSelector"] == {"matchExpressions": [{"key": "inference-ra.nvidia.com/role", "operator": "Exists"}]}
    assert nats["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "dynamo-system"
    }
    assert nats["egress"][0]["ports"] == [{"protocol": "TCP", "port": 4222}]
    api = pols["allow-apiserver-egress"]["spec"]["egress"][0]
    assert api["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]  # existing cluster: API address unknown
    assert [p["port"] for p in api["ports"]] == [443, 6443]
    scrape = pols["allow-metrics-scrape"]["spec"]["ingress"][0]
    assert scrape["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "monitoring"
    assert [p["port"] for p in scrape["ports"]] == [8000, 9090, 6880, 8002]
    fe = pols["allow-frontend-ingress"]["spec"]
    assert fe["podSelector"] == {"matchLabels": {"nvidia.com/dynamo-component-type": "frontend"}}
    assert fe["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8000}]}]  # any source: no ingressFromNamespaces
    pre = pols["allow-prefetch-egress"]
    assert pre["spec"]["podSelector"] == {
        "matchExpressions": [{"key": "inference-ra.nvidia.com/prefetch", "operator": "Exists"}]
    }
    assert pre["spec"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    assert pre["metadata"]["annotations"][netpolicy.OPEN_EGRESS_ANNOTATION].startswith("prefetch Jobs download")
    ncp["policy"] = {"apiServerCidrs": ["10.96.0.1/32"]}
    api = by_name(netpolicy.network_policies(make_spec(ncp), "team-a"))["allow-apiserver-egress"]["spec"]
    assert api["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.96.0.1/32"}}]


def test_model_namespaces_get_policies_without_tenants(ncp: dict[str, Any]) -> None:
    ncp["scheduling"]["queues"] = []
    for m in ncp["serving"]["models"]:
        m.pop("tenant", None)
    ncp["storage"]["modelCache"]["prefetch"] = []
    ncp["serving"]["triton"] = []
    spec = make_spec(ncp)
    assert "dynamo" in netpolicy.policy_namespaces(spec)
    pols = by_name(netpolicy.network_policies(spec, "dynamo"))
    assert {"default-deny", "allow-frontend-ingress", "allow-nats-egress", "allow-metrics-scrape"} <= set(pols)
    dl = pols["allow-weights-download-egress"]["spec"]  # nothing prefetched: the workers fetch their weights
    assert dl["podSelector"]["matchExpressions"][1] == {
        "key": "inference-ra.nvidia.com/role",
        "operator": "In",
        "values": ["worker", "prefill", "decode"],
    }


def test_triton_tenant_gets_triton_ingress_and_s3_endpoint_port(ncp: dict[str, Any]) -> None:
    ncp["serving"]["triton"][0]["s3Endpoint"] = "https://s3.ncp.example.com:9000"
    ncp["serving"]["triton"][0]["repository"] = "s3://models/triton"
    ncp["serving"]["triton"][0]["s3CredentialsSecret"] = "s3-creds"
    ncp["scheduling"]["queues"][1].update(ingressFromNamespaces=["gateway"], egressCidrs=["10.0.0.0/8"])
    spec = make_spec(ncp)
    pols = by_name(netpolicy.network_policies(spec, "team-b"))
    tr = pols["allow-triton-ingress"]["spec"]
    assert tr["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": "triton"}}
    assert tr["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}}}
    ]
    s3 = pols["allow-triton-repository-egress"]["spec"]["egress"][0]
    assert [p["port"] for p in s3["ports"]] == [443, 9000]
    assert s3["to"] == [{"ipBlock": {"cidr": "10.0.0.0/8"}}]


def test_rbac_binds_deployer_sa_and_groups_without_secret_access(ncp: dict[str, Any]) -> None:
    ncp["scheduling"]["queues"][0].update(adminGroups=["team-a-admins"], viewerGroups=["team-a-devs"])
    objs = tenancy.rbac(make_spec(ncp).scheduling.queues[0])
    kinds = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert kinds == [
        ("ServiceAccount", "tenant-deployer"),
        ("Role", "tenant-deployer"),
        ("Role", "tenant-viewer"),
        ("RoleBinding", "tenant-deployer"),
        ("RoleBinding", "tenant-viewer"),
    ]
    deployer_binding = objs[3]
    assert deployer_binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "tenant-deployer", "namespace": "team-a"},
        {"kind": "Group", "name": "team-a-admins", "apiGroup": "rbac.authorization.k8s.io"},
    ]
    for role in objs[1:3]:
        assert all("secrets" not in rule["resources"] for rule in role["rules"])
    viewer_verbs = {v for rule in objs[2]["rules"] for v in rule["verbs"]}
    assert viewer_verbs == {"get", "list", "watch"}
    dgd_rule = objs[1]["rules"][0]
    assert "dynamographdeployments" in dgd_rule["resources"] and "create" in dgd_rule["verbs"]


def test_tenant_objects_validate_strictly(ncp: dict[str, Any], validator: Any) -> None:
    ncp["scheduling"]["queues"][0].update(adminGroups=["a"], viewerGroups=["b"], cpu=8, memoryGi=64, maxPods=10)
    spec = make_spec(ncp)
    for q in spec.scheduling.queues:
        for obj in tenancy.tenant_objects(spec, q):
            assert validator.validate_object(obj) == [], obj["metadata"]["name"]


# ---- Triton ------------------------------------------------------------------------------------------------------
def test_triton_repository_uri_forms(ncp: dict[str, Any]) -> None:
    t = make_spec(ncp).serving.triton[0]
    assert triton.repository_uri(t) == "s3://https://s3.ncp.example.com:443/ncp-models/triton/fraud"
    plain = t.model_copy(update={"s3_endpoint": None, "repository": "s3://bucket/prefix/"})
    assert triton.repository_uri(plain) == "s3://bucket/prefix"
    assert triton.repository_uri(t.model_copy(update={"repository": "triton/fraud"})) == "/models/triton/fraud"
    assert triton.repository_uri(t.model_copy(update={"repository": "/models/x/"})) == "/models/x"


def test_gpu_triton_lands_on_its_pool_with_gpu_limits_and_tenant_queue(ncp: dict[str, Any]) -> None:
    spec = make_spec(ncp)
    dep = triton.deployment(spec, spec.serving.triton[0])
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == "nvcr.io/nvidia/tritonserver:25.08-py3"
    assert pod["nodeSelector"] == {POOL_LABEL: "h200"} and pod["tolerations"] == [GPU_TOLERATION]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "--metrics-port=8002" in c["args"] and "--allow-gpu-metrics=true" in c["args"]
    assert [p["containerPort"] for p in c["ports"]] == [8000, 8001, 8002]
    assert pod["schedulerName"] == "kai-scheduler"
    assert dep["spec"]["template"]["metadata"]["labels"]["kai.scheduler/queue"] == "team-b"
    env = {e["name"]: e for e in c["env"]}
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "triton-s3-credentials"
    assert "replicas" not in dep["spec"]  # the HPA owns it


def test_cpu_triton_from_model_cache_has_no_gpu_and_mounts_the_cache(ncp: dict[str, Any]) -> None:
    t = ncp["serving"]["triton"][0]
    for key in ("pool", "s3Endpoint", "s3CredentialsSecret"):
        t.pop(key)
    t.update(gpus=0, backends=["onnxruntime"], repository="triton/fraud")
    spec = make_spec(ncp)
    pod = triton.deployment(spec, spec.serving.triton[0])["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert "nvidia.com/gpu" not in c["resources"]["limits"]
    assert "nodeSelector" not in pod and "tolerations" not in pod and "schedulerName" not in pod
    assert {"name": "model-cache", "mountPath": "/models", "readOnly": True} in c["volumeMounts"]
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [MODEL_CACHE_CLAIM]
    assert "--allow-gpu-metrics=false" in c["args"] and "env" not in c


def test_triton_on_aws_uses_irsa_role_for_s3(ncp: dict[str, Any]) -> None:
    ncp["cluster"] = {"provider": "aws", "name": "infer-x", "kubernetesVersion": "1.33"}
    t = ncp["serving"]["triton"][0]
    for key in ("s3Endpoint", "s3CredentialsSecret"):
        t.pop(key)
    spec = make_spec(ncp)
    objs = triton.triton_objects(spec, spec.serving.triton[0], "us-east-2", "arn:aws:iam::1:role/reader")
    sa = objs[0]
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/reader"}
    env = objs[1]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "AWS_DEFAULT_REGION", "value": "us-east-2"}]


def test_triton_hpa_and_service(ncp: dict[str, Any]) -> None:
    t = make_spec(ncp).serving.triton[0]
    h = triton.hpa(t)["spec"]
    assert (h["minReplicas"], h["maxReplicas"]) == (1, 4)
    assert h["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "fraud-detector"}
    assert h["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    ports = {p["name"]: p["port"] for p in triton.service(t)["spec"]["ports"]}
    assert ports == {"http": 8000, "grpc": 8001, "metrics": 8002}


def test_triton_objects_validate_strictly(ncp: dict[str, Any], validator: Any) -> None:
    spec = make_spec(ncp)
    for obj in triton.triton_objects(spec, spec.serving.triton[0], None, None):
        assert validator.validate_object(obj) == [], obj["kind"]


# ---- KEDA --------------------------------------------------------------------------------------------------------
def test_aggregated_worker_scales_on_ttft_and_itl(ncp: dict[str, Any]) -> None:
    spec = make_spec(ncp)
    m = spec.serving.models[1]
    (so,) = keda.scaled_objects(spec, m, "http://prom:9090", {"worker": "worker"}, m.model)
    assert so["metadata"] == {
        "name": "llama-70b-worker",
        "namespace": "team-b",
        "labels": {
            "app.kubernetes.io/managed-by": "inference-ra",
            "inference-ra.nvidia.com/graph": "llama-70b",
            "inference-ra.nvidia.com/role": "worker",
        },
    }
    s = so["spec"]
    assert s["scaleTargetRef"] == {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeploymentScalingAdapter",
        "name": "llama-70b-worker",
    }
    assert (s["minReplicaCount"], s["maxReplicaCount"]) == (2, 8)
    ttft, itl = s["triggers"]
    assert ttft["metadata"]["threshold"] == "0.4" and itl["metadata"]["threshold"] == "0.025"
    assert ttft["metadata"]["query"] == (
        "histogram_quantile(0.95, sum by (le) (rate(dynamo_frontend_time_to_first_token_seconds_bucket"
        '{namespace="team-b",model="meta-llama/Llama-3.1-70B-Instruct"}[2m])))'
    )
    assert "dynamo_frontend_inter_token_latency_seconds_bucket" in itl["metadata"]["query"]
    assert ttft["metadata"]["serverAddress"] == "http://prom:9090" and ttft["metricType"] == "Value"


def test_disaggregated_roles_scale_on_their_own_latency(ncp: dict[str, Any]) -> None:
    ncp["serving"]["models"][0]["autoscaling"]["mode"] = "keda"
    spec = make_spec(ncp)
    objs = by_name(
        keda.scaled_objects(
            spec,
            spec.serving.models[0],
            "http://p",
            {"prefill": "SglPrefill", "decode": "decode"},
            served_name="deepseek-r1",
        )
    )
    assert set(objs) == {"deepseek-r1-sglprefill", "deepseek-r1-decode"}
    pre, dec = objs["deepseek-r1-sglprefill"]["spec"], objs["deepseek-r1-decode"]["spec"]
    assert [t["name"] for t in pre["triggers"]] == ["ttft-p95"]
    assert [t["name"] for t in dec["triggers"]] == ["itl-p95"]
    assert 'model="deepseek-r1"' in pre["triggers"][0]["metadata"]["query"]
    assert pre["triggers"][0]["metadata"]["threshold"] == "1"


def test_prometheus_url_precedence(ncp: dict[str, Any]) -> None:
    spec = make_spec(ncp)
    assert keda.prometheus_url(spec) == "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090"
    assert keda.prometheus_url(spec, "http://handle:9090") == "http://handle:9090"
    ncp["observability"] = {"prometheus": {"mode": "external", "url": "http://ext:9090"}}
    assert keda.prometheus_url(make_spec(ncp)) == "http://ext:9090"


def test_keda_objects_and_chart_values_validate_upstream(ncp: dict[str, Any], validator: Any) -> None:
    spec = make_spec(ncp)
    m = spec.serving.models[1]
    for so in keda.scaled_objects(spec, m, "http://prom:9090", {"worker": "worker"}, m.model):
        assert validator.validate_object(so) == []
    values = keda.chart_values(spec)
    assert values["prometheus"]["operator"]["serviceMonitor"]["enabled"] is True
    assert validator.validate_chart({"chart": "keda", "version": "2.20.2", "values": values}) == []


@pytest.mark.parametrize("bad", [{"nope": 1}, {"prometheus": {"operator": {"serviceMonitors": {}}}}])
def test_chart_value_check_can_fail(validator: Any, bad: dict[str, Any]) -> None:
    assert validator.validate_chart({"chart": "keda", "version": "2.20.2", "values": bad}) != []
