"""Pod Security Standards: each control with a failing and a passing pod, the admission / hardening / least-privilege
rules on synthetic resources, and the shipped stacks admitted by the namespaces they run in."""

from __future__ import annotations

from typing import Any

import pytest

from policies import pss
from policies.podsecurity import PodBearer, admission_violations
from tests.conftest import SHIPPED_STACKS, shipped_plan
from tests.policies.plans import component, container, deployment, dgd, k8s, violations


def hardened(name: str = "main", **extra: Any) -> dict[str, Any]:
    sc = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": 1000,
    }
    return container(name, securityContext={**sc, **extra.pop("sc", {})}, **extra)


def restricted_pod(**extra: Any) -> dict[str, Any]:
    return {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [hardened()], **extra}


def controls(pod: dict[str, Any], level: str, meta: dict[str, Any] | None = None) -> list[str]:
    return sorted({v.control for v in pss.check_pod(pod, level, meta)})


def test_a_hardened_pod_passes_restricted() -> None:
    assert pss.check_pod(restricted_pod(), "restricted") == []
    assert pss.minimal_level(restricted_pod()) == "restricted"


def test_a_default_pod_passes_baseline_but_not_restricted() -> None:
    pod = {"containers": [container(securityContext={})]}
    assert pss.check_pod(pod, "baseline") == []
    assert controls(pod, "restricted") == [
        "Capabilities",
        "Privilege Escalation",
        "Running as Non-root",
        "Seccomp",
    ]


@pytest.mark.parametrize(
    ("control", "pod", "meta"),
    [
        ("HostProcess", {"securityContext": {"windowsOptions": {"hostProcess": True}}}, None),
        ("Host Namespaces", {"hostNetwork": True}, None),
        ("Host Namespaces", {"hostPID": True}, None),
        ("Host Namespaces", {"hostIPC": True}, None),
        ("Privileged Containers", {"containers": [hardened(sc={"privileged": True})]}, None),
        ("Capabilities", {"containers": [hardened(sc={"capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}})]}, None),
        ("HostPath Volumes", {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}, None),
        ("Host Ports", {"containers": [hardened(ports=[{"containerPort": 80, "hostPort": 80}])]}, None),
        ("AppArmor", {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}, None),
        ("AppArmor", {}, {"annotations": {"container.apparmor.security.beta.kubernetes.io/main": "unconfined"}}),
        ("SELinux", {"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}, None),
        ("SELinux", {"containers": [hardened(sc={"seLinuxOptions": {"user": "root"}})]}, None),
        ("/proc Mount Type", {"containers": [hardened(sc={"procMount": "Unmasked"})]}, None),
        ("Seccomp", {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, None),
        ("Sysctls", {"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}}, None),
    ],
)
def test_rejects_each_baseline_control(control: str, pod: dict[str, Any], meta: dict[str, Any] | None) -> None:
    base = restricted_pod()
    merged = {**base, **pod, "securityContext": {**base["securityContext"], **pod.get("securityContext", {})}}
    assert control in controls(merged, "baseline", meta)
    assert control not in controls(base, "baseline")


@pytest.mark.parametrize(
    ("control", "change"),
    [
        ("Volume Types", {"volumes": [{"name": "n", "nfs": {"server": "x", "path": "/"}}]}),
        ("Privilege Escalation", {"containers": [hardened(sc={"allowPrivilegeEscalation": True})]}),
        ("Running as Non-root", {"containers": [hardened(sc={"runAsNonRoot": False})]}),
        ("Running as Non-root user", {"containers": [hardened(sc={"runAsUser": 0})]}),
        ("Seccomp", {"securityContext": {}}),
        ("Capabilities", {"containers": [hardened(sc={"capabilities": {"add": ["CHOWN"]}})]}),
    ],
)
def test_rejects_each_restricted_control(control: str, change: dict[str, Any]) -> None:
    pod = {**restricted_pod(), **change}
    assert control in controls(pod, "restricted")
    assert pss.check_pod(pod, "baseline") == [] or control == "Volume Types"


def test_pod_level_settings_cover_containers_and_windows_pods_skip_linux_controls() -> None:
    pod = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "Localhost"}},
        "containers": [
            container(securityContext={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}})
        ],
    }
    assert pss.check_pod(pod, "restricted") == []
    windows = {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": True},
        "containers": [container(securityContext={})],
    }
    assert pss.check_pod(windows, "restricted") == []


def test_rejects_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown Pod Security Standards level"):
        pss.check_pod({}, "strict")


def _namespace(name: str, level: str) -> dict[str, Any]:
    entry = k8s("v1", "Namespace", name)
    entry["inputs"]["metadata"]["labels"] = {pss.ENFORCE_LABEL: level}
    return entry


def test_rejects_a_pod_its_namespace_would_not_admit() -> None:
    rdma = {"containers": [hardened(sc={"capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}})]}
    graph = dgd(components=[component("decode", "decode", rdma["containers"])])
    found = violations("pod-security-admission", _namespace("dynamo", "baseline"), graph)
    assert found == [
        "DynamoGraphDeployment dynamo/llama: spec.components[0].podTemplate.spec is rejected by namespace "
        "'dynamo' (enforces PSS baseline): Capabilities (baseline): containers[0].securityContext.capabilities.add "
        "adds ['IPC_LOCK']"
    ]
    assert violations("pod-security-admission", _namespace("dynamo", "privileged"), graph) == []


def test_admission_covers_every_workload_kind() -> None:
    bad = {"hostPID": True, "containers": [container()]}
    kinds = {
        "Deployment": {"spec": {"template": {"spec": bad}}},
        "StatefulSet": {"spec": {"template": {"spec": bad}}},
        "DaemonSet": {"spec": {"template": {"spec": bad}}},
        "Job": {"spec": {"template": {"spec": bad}}},
        "CronJob": {"spec": {"jobTemplate": {"spec": {"template": {"spec": bad}}}}},
    }
    group = {"Job": "batch/v1", "CronJob": "batch/v1"}
    objects = [
        PodBearer.from_manifest(f"urn:{kind}", {"apiVersion": group.get(kind, "apps/v1"), "kind": kind,
                                                "metadata": {"name": "x", "namespace": "ns"}, **body})
        for kind, body in kinds.items()
    ]  # fmt: skip
    found = list(admission_violations(objects, {"ns": "baseline"}, "privileged"))
    assert sorted(urn for urn, _ in found) == sorted(f"urn:{k}" for k in kinds)
    assert list(admission_violations(objects, {}, "privileged")) == []  # unlabelled: Kubernetes' default


def test_rejects_an_unhardened_pod_and_accepts_the_rdma_exemption_only_with_rdma_devices() -> None:
    found = violations("pod-hardening", deployment(pod={"containers": [container(securityContext={})]}))
    assert len(found) == 4 and all("is not hardened" in m for m in found)
    assert violations("pod-hardening", deployment(pod=restricted_pod())) == []
    root_ipc = hardened(
        sc={"capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK"]}, "runAsNonRoot": False, "runAsUser": 0}
    )
    plain = {**restricted_pod(), "containers": [root_ipc]}
    assert len(violations("pod-hardening", deployment(pod=plain))) == 4  # no RDMA device: no exemption
    root_ipc["resources"]["limits"]["rdma/rdma_shared_device_a"] = 1
    assert violations("pod-hardening", deployment(pod={**plain, "containers": [root_ipc]})) == []
    assert violations("pod-hardening", deployment("drv", "gpu-operator", {"hostPID": True, "containers": []})) == []


def test_rejects_a_namespace_looser_than_its_pods_need() -> None:
    found = violations(
        "pod-security-least-privilege", _namespace("dynamo", "baseline"), deployment(pod=restricted_pod())
    )
    assert found == [
        "Namespace dynamo: namespace 'dynamo' enforces PSS baseline but every pod the stack puts there passes "
        "restricted; enforce restricted"
    ]
    assert (
        violations("pod-security-least-privilege", _namespace("dynamo", "restricted"), deployment(pod=restricted_pod()))
        == []
    )


def test_reports_a_chart_container_gap_as_upstream_not_as_unhardened() -> None:
    """components/catalog/upstream_defects.py: grove-operator's container has no securityContext knob."""
    pod = {
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container("grove-operator", securityContext={})],
    }
    grove = deployment("grove-operator", "grove-system", pod)
    assert violations("pod-hardening", grove) == []
    gaps = violations("pod-hardening-upstream-gap", grove)
    assert len(gaps) == 3 and all("upstream gap" in m and "grove-charts v0.1.0-alpha.11" in m for m in gaps)
    bare = container("grove-operator", securityContext={})
    no_seccomp = deployment("grove-operator", "grove-system", {"containers": [bare]})
    assert [m.split(": ", 2)[2][:7] for m in violations("pod-hardening", no_seccomp)] == ["Seccomp"]  # not a gap
    sidecar = container("sidecar", securityContext={})
    other = deployment("grove-operator", "grove-system", {**pod, "containers": [sidecar]})
    assert len(violations("pod-hardening", other)) == 3  # the gap names one container


def _chart(chart: str, namespace: str) -> list[dict[str, Any]]:
    """A chart resource and one rendered child (so the chart counts as rendered)."""
    entry = k8s("v1", "ConfigMap", chart)
    entry.update(type="kubernetes:helm.sh/v4:Chart", inputs={"chart": chart, "namespace": namespace, "version": "1"})
    child = k8s("v1", "ConfigMap", "c", namespace)
    child["urn"] = entry["urn"].rpartition("::")[0].replace("kubernetes:core/v1:ConfigMap", entry["type"]) + (
        "$kubernetes:core/v1:ConfigMap::c"
    )
    entry["urn"] = entry["urn"].replace("kubernetes:core/v1:ConfigMap", entry["type"])
    return [entry, child]


def test_least_privilege_counts_the_pods_operators_create_at_run_time() -> None:
    """network-operator renders only its (restricted) Deployment; NicClusterPolicy operands need privileged."""
    op = deployment("network-operator", "network-operator", restricted_pod())
    ns = _namespace("network-operator", "privileged")
    assert violations("pod-security-least-privilege", ns, op, *_chart("network-operator", "network-operator")) == []
    found = violations("pod-security-least-privilege", ns, op, *_chart("keda", "network-operator"))
    assert found and "passes restricted" in found[0]
    reservation = _namespace("kai-resource-reservation", "baseline")
    assert violations("pod-security-least-privilege", reservation, *_chart("kai-scheduler", "kai-scheduler")) == []


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stacks_are_admitted_hardened_and_least_privileged(stack: str) -> None:
    """With every rendered chart object, as `check` and CrossGuard see them."""
    from policies.runner import evaluate, resources_from_plan, settings_for
    from stacks.charts.loaded import chart_resources, views_from_plan

    plan = shipped_plan(stack)
    rules = {"pod-security-admission", "pod-hardening", "pod-security-least-privilege"}
    resources = resources_from_plan(plan.to_json()) + chart_resources(views_from_plan(plan))
    assert len(resources) > len(resources_from_plan(plan.to_json()))
    findings = [f for f in evaluate(resources, settings_for(plan.spec)) if f.rule in rules]
    assert [(f.rule, f.message) for f in findings] == []


def _netpol(name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    entry = k8s("networking.k8s.io/v1", "NetworkPolicy", name, "dynamo", spec=spec)
    if annotations:
        entry["inputs"]["metadata"]["annotations"] = annotations
    return entry


def test_rejects_a_namespace_without_default_deny_egress() -> None:
    ingress_only = _netpol("deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
    found = violations("tenant-default-deny", ingress_only, tenantNamespaces=["dynamo"])
    assert found == ["(stack): namespace 'dynamo' has no default-deny Egress NetworkPolicy"]
    both = _netpol("deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    assert violations("tenant-default-deny", both, tenantNamespaces=["dynamo"]) == []


def test_rejects_open_egress_for_every_pod_or_without_a_reason() -> None:
    open_to = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}]
    everyone = _netpol("https", {"podSelector": {}, "policyTypes": ["Egress"], "egress": open_to})
    assert len(violations("network-egress-justified", everyone)) == 2
    sel = {"matchLabels": {"app": "prefetch"}}
    ok = _netpol("dl", {"podSelector": sel, "policyTypes": ["Egress"], "egress": open_to}, {
        "inference-ra.nvidia.com/open-egress-reason": "downloads checkpoints"})  # fmt: skip
    assert violations("network-egress-justified", ok) == []


def test_least_privilege_takes_operator_runtime_levels_from_the_stack_config() -> None:
    """Under `pulumi preview --policy-pack` the stack rule sees no chart component inputs: network-operator
    (privileged for the operator's run-time pods) and kai-resource-reservation (baseline) were reported as looser
    than needed (found by `make e2e`). The levels come from the spec through the rule's config."""
    from components.charts import CHART_TYPES
    from components.loader import read_stack_file, spec_from_stack_file
    from policies.podsecurity import least_privilege_namespaces
    from policies.runner import resources_from_plan, runtime_pod_levels
    from tests.conftest import REPO, shipped_plan

    spec = spec_from_stack_file(read_stack_file(str(REPO / "stacks" / "Pulumi.ncp-ib.yaml")))
    assert runtime_pod_levels(spec)["network-operator"] == "privileged"
    assert runtime_pod_levels(spec)["kai-resource-reservation"] == "baseline"
    live = [r for r in resources_from_plan(shipped_plan("ncp-ib").to_json()) if r.type not in CHART_TYPES]

    def flagged(runtime: dict[str, str] | None) -> set[str]:
        found = [m for _, m in least_privilege_namespaces(live, runtime)]
        return {ns for ns in ("network-operator", "kai-resource-reservation") if any(f"'{ns}'" in m for m in found)}

    assert flagged(None) == {"network-operator", "kai-resource-reservation"}  # the e2e finding
    assert flagged(runtime_pod_levels(spec)) == set()
