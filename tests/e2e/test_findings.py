"""What the real engine against a real API server found that the offline engine missed (`make e2e`), each kept as
an offline test so `make test` catches it next time. One test per finding; docs/e2e.md lists them."""

from __future__ import annotations

import pytest

from components.namespaces import PRIVILEGED_NAMESPACES, kubernetes_namespace_labels
from components.observability.layer import chart_values
from tests.conftest import SHIPPED_STACKS, shipped_plan


def _spec(stack: str):  # type: ignore[no-untyped-def]
    from components.loader import read_stack_file, spec_from_stack_file

    return spec_from_stack_file(read_stack_file(stack))


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_node_exporter_runs_where_pod_security_admits_it(stack: str) -> None:
    """Finding: the API server's PodSecurity admission rejected every node-exporter pod ("violates PodSecurity
    baseline:latest: host namespaces, hostPath volumes") because kube-prometheus-stack put the DaemonSet in the
    monitoring namespace, which this stack labels `enforce: baseline`; `pulumi up` then waited on a DaemonSet that
    never became ready. node-exporter needs hostNetwork/hostPID and hostPath by design, so it must run in a
    namespace enforcing `privileged` (the chart's `prometheus-node-exporter.namespaceOverride`)."""
    spec = _spec(stack)
    if spec.observability.prometheus.mode != "deploy" or not spec.observability.enabled:
        pytest.skip("no kube-prometheus-stack in this stack")
    values = chart_values(spec)
    exporter = values.get("prometheus-node-exporter", {})
    namespace = exporter.get("namespaceOverride") or spec.observability.prometheus.namespace
    assert namespace in PRIVILEGED_NAMESPACES
    assert kubernetes_namespace_labels(spec, namespace)["pod-security.kubernetes.io/enforce"] == "privileged"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_chart_workloads_pass_the_container_resources_rule(stack: str) -> None:
    """Finding: `pulumi preview --policy-pack` evaluates the pack on every object a chart renders, and the mandatory
    `container-resources` rule failed on kube-prometheus-stack's grafana (and its two sidecars), kube-state-metrics,
    prometheus-operator and node-exporter, the Dynamo platform's NATS (nats, reloader, prom-exporter), the KAI
    operator and the DRA driver. Each of those containers now gets requests and a memory limit through the chart
    value its template reads (components/catalog/chart_resources.py); checked here on the objects Helm renders."""
    from stacks.charts.loaded import child_type, views_from_plan
    from tests.policies.plans import k8s, violations

    found, checked = [], 0
    for view in views_from_plan(shipped_plan(stack)):
        for obj in view.objects:
            api, kind = str(obj.obj["apiVersion"]), obj.kind
            if child_type(api, kind).split(":")[-1] not in ("Deployment", "DaemonSet", "StatefulSet", "Job"):
                continue
            entry = k8s(api, kind, obj.name, obj.namespace, spec=obj.obj["spec"])
            found += violations("container-resources", entry)
            checked += 1
    assert checked >= 5 and found == []


def test_subchart_values_validate_against_the_unpacked_subchart() -> None:
    """The fix above sets values of kube-prometheus-stack's and dynamo-platform's subcharts; `validate` now reads the
    subcharts' own values.yaml from the unpacked charts (../shared/upstream/charts/<chart>/charts/<subchart>/), so
    those keys pass and a misspelt one still fails."""
    from stacks.validate import Validator
    from tests.conftest import CHART_VALUES_DIR, CRD_DIR

    v = Validator("1.33", CRD_DIR, CHART_VALUES_DIR)
    ok = {"chart": "kube-prometheus-stack", "version": "88.5.3", "values": {"grafana": {"resources": {"limits": {}}}}}
    assert v.validate_chart(ok) == []
    bad = {"chart": "kube-prometheus-stack", "version": "88.5.3", "values": {"grafana": {"resourcez": {}}}}
    assert [f.path for f in v.validate_chart(bad)] == ["values.grafana.resourcez"]


def test_dynamo_crd_apply_init_container_is_the_only_exempt_container() -> None:
    """Finding: the same rule failed on the Dynamo operator's `crd-apply` init container, whose chart template
    (dynamo-platform components/operator/templates/deployment.yaml) sets no resources and reads no value for them.
    The rule's `exemptContainers` default names exactly that container; any other bare container still fails."""
    from tests.policies.plans import container, deployment, violations

    bare = {"name": "crd-apply", "image": "nvcr.io/nvidia/ai-dynamo/kubernetes-operator:1.4.0"}
    name = "dynamo-platform-dynamo-operator-controller-manager"
    pod = {"initContainers": [bare], "containers": [container()]}
    assert violations("container-resources", deployment(name, "dynamo-system", pod)) == []
    other = {"initContainers": [{**bare, "name": "setup"}], "containers": [container()]}
    assert len(violations("container-resources", deployment(name, "dynamo-system", other))) == 1
    assert len(violations("container-resources", deployment("my-app", "dynamo-system", pod))) == 1


def test_policy_pack_takes_levels_from_the_stack_config_the_engine_sends() -> None:
    """Finding: under `pulumi preview --policy-pack` the pack printed "using default levels and config
    (inference-ra:cluster: required key is missing)": it looked for the stack's config in its environment, where the
    CLI never puts it; the engine sends it in the analyzer's ConfigureStack call (pkg/resource/plugin/
    analyzer_plugin.go, NewPolicyAnalyzer), which pulumi_policy 1.21 accepts and drops. So `inference-ra:policy`
    levels and config were silently ignored at deploy time. The pack now applies the config of that call."""
    import json

    from components.loader import read_stack_file
    from policies.crossguard import LiveSettings, build_policies, configure_stack
    from policies.registry import resolve

    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in read_stack_file("dev").config.items()}
    config["inference-ra:policy"] = json.dumps({"enforcement": {"container-resources": "advisory"}})
    live = LiveSettings(resolve())
    policies = build_policies(live)
    before = next(p for p in policies if p.name == "container-resources").enforcement_level
    configure_stack(policies, live, config)
    after = next(p for p in policies if p.name == "container-resources").enforcement_level
    assert (before.value, after.value) == ("mandatory", "advisory")
    assert live.settings.levels["container-resources"] == "advisory"


def test_rejects_a_stack_config_the_program_would_reject_in_the_pack_too() -> None:
    from policies.crossguard import LiveSettings, build_policies, configure_stack
    from policies.registry import resolve

    live = LiveSettings(resolve())
    with pytest.raises(Exception, match="inference-ra:cluster"):
        configure_stack(build_policies(live), live, {"inference-ra:network": "{}"})


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_grafana_admin_password_is_not_generated_per_render(stack: str) -> None:
    """Finding: right after `pulumi up`, `pulumi preview --expect-no-changes` proposed an update of
    kube-prometheus-stack-grafana's `checksum/secret` annotation, on every run: the grafana chart generates the
    admin password with `randAlphaNum` unless Helm's `lookup` finds the existing Secret, and lookup finds nothing in
    the provider's client-side render (grafana templates/_helpers.tpl "grafana.password"). Every `pulumi up` rotated
    the Secret and restarted Grafana. The password now comes from the stack secret `grafanaAdminPassword`, in a
    Secret the chart is pointed at (`grafana.admin.existingSecret`), so the render is deterministic."""
    from components.observability.layer import GRAFANA_ADMIN_SECRET, grafana_admin_secret

    spec = _spec(stack)
    admin = chart_values(spec)["grafana"].get("admin", {})
    assert admin.get("existingSecret") == GRAFANA_ADMIN_SECRET
    secret = grafana_admin_secret(spec.observability.prometheus.namespace, "pw")
    assert secret["metadata"]["name"] == GRAFANA_ADMIN_SECRET
    assert set(secret["stringData"]) == {admin["userKey"], admin["passwordKey"]}
    plan = shipped_plan(stack)
    secrets = [
        r for r in plan.resources if r.type == "kubernetes:core/v1:Secret" and r.name.endswith(GRAFANA_ADMIN_SECRET)
    ]
    assert len(secrets) == 1 and secrets[0].inputs["stringData"]["admin-password"] == "[secret]"


def test_network_operator_chart_waits_for_the_chart_that_installs_the_nfd_crds() -> None:
    """Finding: `pulumi preview` of ncp-ib on a fresh cluster failed: "kubernetes:helm.sh/v4:Chart resource
    'network-operator' has a problem: failed to determine if the following GVK is namespaced:
    nfd.k8s-sigs.io/v1alpha1, Kind=NodeFeatureRule". The network-operator chart renders a NodeFeatureRule
    (templates/nodefeaturerules.yaml) whose CRD, with NFD left to the GPU Operator (`fabric.nfd: gpu-operator`),
    comes from the GPU Operator chart's node-feature-discovery subchart, and the two charts were unordered
    (pulumi/pulumi-kubernetes#3176). The network-operator chart now depends on the GPU Operator chart."""
    plan = shipped_plan("ncp-ib")
    charts = {r.name: r for r in plan.resources if r.type == "kubernetes:helm.sh/v4:Chart"}
    assert charts["gpu-operator"].urn in charts["network-operator"].depends_on


def test_keda_chart_waits_for_the_chart_that_installs_the_monitoring_crds() -> None:
    """Finding: then "Chart resource 'keda' has a problem: failed to determine if the following GVK is namespaced:
    monitoring.coreos.com/v1, Kind=ServiceMonitor": the KEDA chart renders ServiceMonitors (the stack enables its
    operator and metrics-server monitors) whose CRDs come from kube-prometheus-stack. It now depends on the
    chart (or CRD set) the observability layer installs them with, as the Dynamo platform chart already did."""
    plan = shipped_plan("ncp-ib")
    charts = {r.name: r for r in plan.resources if r.type == "kubernetes:helm.sh/v4:Chart"}
    assert charts["kube-prometheus-stack"].urn in charts["keda"].depends_on


def test_kai_reservation_namespace_and_account_are_the_stacks_not_lookup_gated() -> None:
    """Finding (ncp-ib): right after `pulumi up`, `pulumi preview --expect-no-changes` planned to delete the KAI
    chart's `kai-resource-reservation` Namespace and ServiceAccount: the chart renders them only while Helm's
    `lookup` does not find them (templates/services/resourcereservation-{namespace,serviceaccount}.yaml), and the
    provider's render does look them up in the cluster, so the second `up` would delete the ServiceAccount KAI's
    reservation pods run as. The stack now creates both itself and turns the chart's creation off
    (`global.resourceReservation.createNamespace/createServiceAccount: false`)."""
    from serving.platform import kai_values

    reservation = kai_values()["global"]["resourceReservation"]
    assert reservation == {"createNamespace": False, "createServiceAccount": False}
    plan = shipped_plan("ncp-ib")
    by_name = {(r.type, r.name): r for r in plan.resources}
    ns = by_name[("kubernetes:core/v1:Namespace", "kai-resource-reservation")]  # one of the stack's namespaces
    sa = by_name[("kubernetes:core/v1:ServiceAccount", "kai-resource-reservation/kai-resource-reservation")]
    chart = by_name[("kubernetes:helm.sh/v4:Chart", "kai-scheduler")]
    assert sa.urn in chart.depends_on and ns.urn in sa.depends_on
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]  # PSA-labelled like the others


def test_ip_pools_wait_for_the_nic_cluster_policy_that_brings_their_crd() -> None:
    """Finding (ncp-ib): `pulumi up` failed creating every IPPool: "no matches for kind IPPool in version
    nv-ipam.nvidia.com/v1alpha1". The Network Operator installs NV-IPAM (CRDs included) only once a NicClusterPolicy
    enables nvIpam, and the pools depended on the chart alone, racing the policy. They now depend on the policy."""
    plan = shipped_plan("ncp-ib")
    policy = next(r for r in plan.resources if r.type.endswith(":NicClusterPolicy"))
    pools = [r for r in plan.resources if r.type.endswith(":IPPool")]
    assert pools and all(policy.urn in r.depends_on for r in pools)
