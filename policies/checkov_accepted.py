"""checkov's Kubernetes checks (issue 19 item 8): the finding classes this project accepts, each with its reason,
and which objects may carry each. tests/policies/test_checkov.py runs checkov once over every shipped stack's
manifests and fails on any finding not listed here; docs/policy.md shows the table and the before/after counts.
Classes checkov caught that the pack missed got a fix or a rule (docs/policy.md, "checkov as a second opinion").
"""

from __future__ import annotations

from dataclasses import dataclass

# check id -> (reason, manifest file name prefixes it may appear on; empty = any pod-bearing object)
ACCEPTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "CKV_K8S_43": ("images are pinned by version tag; digests are reported by rule images-digest-pinned until the "
                   "catalog records them", ()),
    "CKV_K8S_15": ("imagePullPolicy Always re-pulls multi-GB GPU images on every restart; pinned tags make "
                   "IfNotPresent safe", ()),
    "CKV_K8S_11": ("no CPU limits: CFS throttling hurts latency-critical and burn-in work (rule container-resources "
                   "requireCpuLimit opts in)", ()),
    "CKV_K8S_38": ("the token is mounted only where the pod calls the API: the burn-in labels its node, the node "
                   "labeller labels/taints nodes, local-path-provisioner creates PVs",
                   ("DaemonSet-gpu-acceptance-", "CronJob-inference-ra-node-labeller-", "Deployment-local-path-")),
    "CKV_K8S_22": ("writable root filesystem for engines, download and benchmark tools that write caches under "
                   "their image paths; the burn-in's report container is read-only", ()),
    "CKV_K8S_40": ("the image's own non-root user (UID 1000 Dynamo/Triton/default) rather than a >10000 UID, so "
                   "files on the shared model cache keep one owner", ()),
    "CKV_K8S_8": ("the burn-in's readiness is its init container passing; local-path-provisioner is upstream's "
                  "manifest", ("DaemonSet-gpu-acceptance-", "Deployment-local-path-")),
    "CKV_K8S_9": ("as CKV_K8S_8", ("DaemonSet-gpu-acceptance-", "Deployment-local-path-")),
    "CKV_K8S_35": ("hub tokens come from a Secret through env (valueFrom.secretKeyRef), which the hub clients read "
                   "(HF_TOKEN, NGC_CLI_API_KEY); never literals (rule no-secret-literals)", ()),
    # upstream rancher/local-path-provisioner v0.0.32 manifest in kube-system (storage/nvme.py): root helper pods
    "CKV_K8S_23": ("local-path-provisioner (kube-system, privileged namespace) is upstream's manifest and creates "
                   "host directories", ("Deployment-local-path-",)),
    "CKV_K8S_28": ("as CKV_K8S_23", ("Deployment-local-path-",)),
    "CKV_K8S_29": ("as CKV_K8S_23", ("Deployment-local-path-",)),
    "CKV_K8S_31": ("as CKV_K8S_23", ("Deployment-local-path-",)),
    "CKV_K8S_37": ("as CKV_K8S_23", ("Deployment-local-path-",)),
}  # fmt: skip


@dataclass(frozen=True)
class ChartAccepted:
    """checkov findings on objects a chart renders (manifests/_charts/<release>/<namespace or _cluster>/<file>),
    accepted for the named objects only, with the reason."""

    release: str
    checks: tuple[str, ...]
    objects: tuple[str, ...]  # `<namespace or _cluster>/<Kind>-<name>` (the file under the release, no .yaml)
    reason: str


_SCC = ("CKV_K8S_20", "CKV_K8S_23", "CKV_K8S_28", "CKV_K8S_29", "CKV_K8S_30", "CKV_K8S_31", "CKV_K8S_37")
_PROBES = ("CKV_K8S_8", "CKV_K8S_9")
_RESOURCES = ("CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13")
_WEBHOOKS = "CKV_K8S_155"
_TOKEN = "CKV_K8S_38"

CHART_ACCEPTED: tuple[ChartAccepted, ...] = (
    ChartAccepted(
        "aws-efa-k8s-device-plugin",
        ("CKV_K8S_16", "CKV_K8S_19", *_SCC, *_PROBES),
        ("kube-system/DaemonSet-aws-efa-k8s-device-plugin",),
        "device plugin: privileged + hostNetwork to advertise EFA devices (components/catalog/privileges.py), in "
        "kube-system (PSS privileged, outside pod-hardening); it registers over the kubelet socket and the chart "
        "renders no probes",
    ),
    ChartAccepted(
        "aws-fsx-csi-driver",
        ("CKV_K8S_16", *_SCC, _TOKEN, *_PROBES),
        ("kube-system/DaemonSet-fsx-csi-node", "kube-system/Deployment-fsx-csi-controller"),
        "CSI driver in kube-system (outside pod-hardening) with upstream's defaults: the node plugin mounts Lustre "
        "with bidirectional propagation (privileged, components/catalog/privileges.py); controller and node call the "
        "API (PVs, VolumeAttachments, CSINode); the CSI sidecars carry no probes of their own",
    ),
    ChartAccepted(
        "aws-fsx-csi-driver",
        ("CKV_K8S_35",),
        ("kube-system/Deployment-fsx-csi-controller",),
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the optional Secret `aws-secret` (templates/controller-"
        "deployment.yaml, `optional: true`); with IRSA the Secret does not exist and the env stays empty",
    ),
    ChartAccepted(
        "kube-prometheus-stack",
        ("CKV_K8S_35",),
        ("monitoring/Deployment-kube-prometheus-stack-grafana",),
        "the grafana subchart's sidecars read the admin credentials (REQ_USERNAME/REQ_PASSWORD) from the chart's "
        "Secret through env (valueFrom.secretKeyRef, as the subchart renders it) to call Grafana's reload API; never "
        "literals (rule no-secret-literals)",
    ),
    ChartAccepted(
        "nvidia-dra-driver",
        _RESOURCES,
        ("nvidia-dra-driver/DaemonSet-dra-driver-nvidia-gpu-kubelet-plugin",),
        "the init container's resources value has no reader (components/catalog/upstream_defects.py POLICY_GAPS)",
    ),
    ChartAccepted(
        "nvidia-dra-driver",
        ("CKV_K8S_16", *_SCC, _TOKEN, *_PROBES),
        (
            "nvidia-dra-driver/DaemonSet-dra-driver-nvidia-gpu-kubelet-plugin",
            "nvidia-dra-driver/Deployment-dra-driver-nvidia-gpu-controller",
        ),
        "DRA driver in its privileged operator namespace (outside pod-hardening): the kubelet plugin is privileged "
        "with host paths (components/catalog/privileges.py); both publish ResourceSlices / ComputeDomains through the "
        "API; upstream defaults otherwise",
    ),
    ChartAccepted(
        "gpu-operator",
        (*_SCC, _TOKEN),
        (
            "gpu-operator/Deployment-gpu-operator",
            "gpu-operator/Deployment-gpu-operator-node-feature-discovery-master",
            "gpu-operator/Deployment-gpu-operator-node-feature-discovery-gc",
            "gpu-operator/DaemonSet-gpu-operator-node-feature-discovery-worker",
        ),
        "GPU Operator namespace (PSS privileged for its operands, components/catalog/pod_levels.py; outside "
        "pod-hardening): the operator reconciles ClusterPolicy, NFD master/gc/worker label and prune nodes through "
        "the API; upstream defaults otherwise",
    ),
    ChartAccepted(
        "grove",
        (*_SCC, *_PROBES),
        ("grove-system/Deployment-grove-operator",),
        "grove-charts v0.1.0-alpha.11 renders the operator container without a securityContext value "
        "(components/catalog/upstream_defects.py POLICY_GAPS, rule pod-hardening-upstream-gap) and its probes only "
        "with config.server.healthProbes.enable, which we leave at upstream's default (not verified at run time)",
    ),
    ChartAccepted(
        "kube-prometheus-stack",
        ("CKV_K8S_17", "CKV_K8S_19", *_SCC),
        ("kube-system/DaemonSet-kube-prometheus-stack-prometheus-node-exporter",),
        "node-exporter reads the host's metrics: hostNetwork, hostPID, host root mount (components/catalog/"
        "privileges.py), in kube-system",
    ),
    ChartAccepted(
        "kube-prometheus-stack",
        (_TOKEN,),
        (
            "monitoring/Deployment-kube-prometheus-stack-grafana",
            "monitoring/Deployment-kube-prometheus-stack-kube-state-metrics",
            "monitoring/Deployment-kube-prometheus-stack-operator",
        ),
        "each calls the API: Grafana's sidecars watch dashboard ConfigMaps, kube-state-metrics lists objects, the "
        "operator reconciles Prometheus",
    ),
    ChartAccepted(
        "kube-prometheus-stack",
        _PROBES,
        ("monitoring/Deployment-kube-prometheus-stack-grafana",),
        "Grafana has probes; its dashboard/datasource sidecars have none in the grafana subchart",
    ),
    ChartAccepted(
        "kube-prometheus-stack",
        ("CKV2_K8S_5",),
        ("_cluster/ClusterRoleBinding-kube-prometheus-stack-grafana-clusterrolebinding",),
        "the grafana subchart's ClusterRole lets its sidecars read ConfigMaps and Secrets cluster-wide (dashboards and "
        "datasources may come from either); NOT tightened here — a follow-up can restrict the sidecars to ConfigMaps",
    ),
    ChartAccepted(
        "kube-prometheus-stack",
        ("CKV_K8S_49",),
        ("_cluster/ClusterRole-kube-prometheus-stack-operator",),
        "the Prometheus operator's ClusterRole uses `*` on its own monitoring.coreos.com resources",
    ),
    ChartAccepted(
        "dynamo-platform",
        _RESOURCES,
        ("dynamo-system/Deployment-dynamo-platform-dynamo-operator-controller-manager",),
        "the crd-apply init container has no resources value (components/catalog/upstream_defects.py POLICY_GAPS)",
    ),
    ChartAccepted(
        "dynamo-platform",
        (_TOKEN,),
        ("dynamo-system/Deployment-dynamo-platform-dynamo-operator-controller-manager",),
        "the operator reconciles graphs through the API",
    ),
    ChartAccepted(
        "dynamo-platform",
        _PROBES,
        ("dynamo-system/StatefulSet-dynamo-platform-nats",),
        "the nats container has probes; the nats chart gives the reloader and prom-exporter sidecars none",
    ),
    ChartAccepted(
        "dynamo-platform",
        (_WEBHOOKS,),
        (
            "_cluster/ClusterRole-dynamo-platform-dynamo-operator-manager-role",
            "_cluster/ClusterRole-dynamo-platform-dynamo-operator-dynamo-system-webhook-injector",
        ),
        "the operator manages its own webhook configurations (crd-apply points the CRDs' conversion webhook at its "
        "Service; the injector writes the caBundle)",
    ),
    ChartAccepted(
        "grove",
        (_WEBHOOKS,),
        ("_cluster/ClusterRole-grove:system:grove-operator",),
        "the operator writes the caBundle of its own webhook configurations (self-signed certificates)",
    ),
    ChartAccepted(
        "kai-scheduler",
        (_WEBHOOKS,),
        ("_cluster/ClusterRole-kai-operator",),
        "the KAI operator deploys the admission service and its webhook configurations",
    ),
    ChartAccepted(
        "kai-scheduler",
        (_TOKEN,),
        ("kai-scheduler/Deployment-kai-operator",),
        "the operator deploys KAI's services from the Config CR through the API",
    ),
    ChartAccepted(
        "keda",
        (_WEBHOOKS,),
        ("_cluster/ClusterRole-keda-operator-minimal-cluster-role",),
        "the KEDA operator rotates its certificates and patches its webhook configurations' caBundle",
    ),
    ChartAccepted(
        "keda",
        (_TOKEN,),
        (
            "keda/Deployment-keda-operator",
            "keda/Deployment-keda-operator-metrics-apiserver",
            "keda/Deployment-keda-admission-webhooks",
        ),
        "operator (ScaledObjects, HPAs), metrics API server and admission webhooks all call the API",
    ),
    ChartAccepted(
        "network-operator",
        (_WEBHOOKS, _TOKEN),
        ("_cluster/ClusterRole-network-operator", "network-operator/Deployment-network-operator"),
        "the operator reconciles NicClusterPolicy operands and manages its webhook configurations",
    ),
)


# Classes accepted on every rendered chart object, with the reason as it holds for chart pods.
CHART_CLASSES: dict[str, str] = {
    "CKV_K8S_43": ACCEPTED["CKV_K8S_43"][0],
    "CKV_K8S_15": "charts pin image tags (plan.json rendered.images); IfNotPresent is the charts' own default",
    "CKV_K8S_11": ACCEPTED["CKV_K8S_11"][0],
    "CKV_K8S_22": "read-only root filesystems are left at each chart's default: the images' write paths are not "
    "known here (no registry access to inspect them), and a wrong guess crashes the operator",
    "CKV_K8S_40": "chart images run as their own users (NATS as 1000, set by us to own its PVC; KAI 65532; others "
    "the charts' defaults); a UID above 10000 is not something the charts or images promise",
}


def chart_reason(check_id: str, file_path: str) -> str:
    """The reason a finding on a rendered chart object is accepted, or "" (not accepted)."""
    if check_id in CHART_CLASSES:
        return CHART_CLASSES[check_id]
    parts = file_path.split("/")
    if "_charts" not in parts or len(parts) < parts.index("_charts") + 4:
        return ""
    i = parts.index("_charts")
    release, obj = parts[i + 1], f"{parts[i + 2]}/{parts[i + 3].removesuffix('.yaml')}"
    for entry in CHART_ACCEPTED:
        if entry.release == release and check_id in entry.checks and obj in entry.objects:
            return entry.reason
    return ""
