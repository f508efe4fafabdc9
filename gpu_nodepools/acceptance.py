"""The `acceptance` layer: a GPU burn-in on every node of every GPU pool, its verdict as a node label.

Per pool with `acceptance.enabled`: a DaemonSet on the pool's nodes whose init container runs
gpu_nodepools/burnin.py (shipped in a ConfigMap, run in the pinned NGC PyTorch image) against the pool's
thresholds, and writes `inference-ra.nvidia.com/acceptance=passed|failed` on its node through a ServiceAccount that
may only patch nodes. The pod becomes Ready only when the burn-in passed, so:

* `pulumi up` waits on a gated pool's DaemonSet (`acceptance.gate`) until every node passed, and serving graphs on
  that pool depend on it through `ctx.acceptance.gates[pool]`;
* serving pods on a gated pool also select `ACCEPTANCE_LABEL=passed` (`ctx.acceptance.node_selectors[pool]`, from
  `gate_node_selector`), so a node that joins later (autoscaling) takes no serving work before its own burn-in
  passed.

The burn-in reaches every GPU through the NVIDIA runtime (`runtimeClassName: nvidia`, NVIDIA_VISIBLE_DEVICES=all)
without requesting `nvidia.com/gpu`, so the idle pod holds no GPU after it passed; it refuses to run on GPUs that
other work already uses (exit 3, no label change). Ungated pools are not awaited: the label is informational.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pulumi

from components import k8s as kobj
from components import podsecurity
from components.catalog import IMAGES, NODE_TYPES
from components.constants import ACCEPTANCE_LABEL, GPU_TOLERATION, POOL_LABEL
from components.context import PlatformContext
from components.layering import StackRefs
from components.outputs import AcceptanceOutputs
from components.spec import StackSpec
from components.spec.gpu import GpuPoolSpec
from gpu_nodepools.thresholds import thresholds_document

NAMESPACE = "gpu-acceptance"
NAME = "gpu-acceptance"
PROGRAM = Path(__file__).with_name("burnin.py")
MOUNT = "/opt/inference-ra/acceptance"
RESULTS = "/results"
# NVLink multicast can take a shared host's GPUs out of service; the program forces these too.
NO_MULTICAST_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}
APP_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "inference-ra"}


def pools_to_accept(spec: StackSpec) -> list[GpuPoolSpec]:
    return [p for p in spec.gpu_pools if p.acceptance.enabled]


def pool_node_selector(pool: GpuPoolSpec) -> dict[str, str]:
    """The pool's nodes: its own selector on existing clusters, else the pool label the compute layer sets."""
    return dict(pool.node_selector) if pool.node_selector else {POOL_LABEL: pool.name}


def gate_node_selector(spec: StackSpec, pool_name: str) -> dict[str, str]:
    """Node selector entries serving pods on `pool_name` must add: none unless the pool's acceptance gates."""
    pool = spec.pool(pool_name)
    if pool is None or not (pool.acceptance.enabled and pool.acceptance.gate):
        return {}
    return {ACCEPTANCE_LABEL: "passed"}


def thresholds_key(pool: GpuPoolSpec) -> str:
    return f"thresholds-{pool.name}.json"


def program_configmap(spec: StackSpec) -> kobj.Manifest:
    data = {"burnin.py": PROGRAM.read_text()}
    for pool in pools_to_accept(spec):
        doc = thresholds_document(pool.gpu, NODE_TYPES[pool.instance_type].gpus)
        data[thresholds_key(pool)] = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": kobj.metadata(NAME, NAMESPACE, APP_LABELS),
        "data": data,
    }


def rbac(namespace: str = NAMESPACE) -> list[kobj.Manifest]:
    """A ServiceAccount that may patch nodes and nothing else (the narrowest verb for a label; which node and which
    keys: `own_node_policy`)."""
    role_name = f"inference-ra-{NAME}"
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": kobj.metadata(NAME, namespace, APP_LABELS),
            "automountServiceAccountToken": True,  # the burn-in labels its node through the API
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": kobj.metadata(role_name, labels=APP_LABELS),
            "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["patch"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": kobj.metadata(role_name, labels=APP_LABELS),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
        },
    ]


# The token of a pod-bound ServiceAccount carries the node the pod runs on (KEP-4193, ServiceAccountTokenPodNodeInfo:
# beta and on by default since Kubernetes 1.30, GA in 1.32); the API server exposes it to admission as this
# userInfo.extra key.
NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name"
REPORT_ANNOTATION = f"{ACCEPTANCE_LABEL}-report"  # burnin.py label_node writes the label and this annotation


def own_node_policy(namespace: str = NAMESPACE) -> list[kobj.Manifest]:
    """A ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA since Kubernetes 1.30) that lets the burn-in's
    ServiceAccount change only its own node, and there only the acceptance label and report annotation: RBAC can
    grant `patch` on nodes only cluster-wide, so without it one compromised burn-in pod could mark every node as
    passed."""
    name = f"inference-ra-{NAME}-own-node"
    user = f"system:serviceaccount:{namespace}:{NAME}"
    keep_other = (
        "{m}.filter(k, k != '{key}' && k != '{ann}').all(k, k in {o} && {o}[k] == {m}[k]) && "
        "{o}.filter(k, k != '{key}' && k != '{ann}').all(k, k in {m})"
    )

    def unchanged(field: str) -> str:
        m, o = (
            f"(has(object.metadata.{field}) ? object.metadata.{field} : {{}})",
            (f"(has(oldObject.metadata.{field}) ? oldObject.metadata.{field} : {{}})"),
        )
        return keep_other.format(m=m, o=o, key=ACCEPTANCE_LABEL, ann=REPORT_ANNOTATION)

    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": kobj.metadata(name, labels=APP_LABELS),
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["nodes"]}
                    ]
                },
                "matchConditions": [
                    {"name": "burn-in-service-account", "expression": f"request.userInfo.username == '{user}'"}
                ],
                "validations": [
                    {
                        "expression": f"'{NODE_NAME_EXTRA}' in request.userInfo.extra && "
                        f"object.metadata.name == request.userInfo.extra['{NODE_NAME_EXTRA}'][0]",
                        "message": "the burn-in may only change the node its own pod runs on",
                        "reason": "Forbidden",
                    },
                    {
                        "expression": f"object.spec == oldObject.spec && {unchanged('labels')}",
                        "message": f"the burn-in may change only the {ACCEPTANCE_LABEL} label on its node",
                        "reason": "Forbidden",
                    },
                    {
                        "expression": unchanged("annotations"),
                        "message": f"the burn-in may change only the {REPORT_ANNOTATION} annotation on its node",
                        "reason": "Forbidden",
                    },
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": kobj.metadata(name, labels=APP_LABELS),
            "spec": {"policyName": name, "validationActions": ["Deny"]},
        },
    ]


def _tolerations(pool: GpuPoolSpec) -> list[dict[str, Any]]:
    tolerations = [dict(GPU_TOLERATION)]
    for taint in pool.taints:
        tolerations.append({"key": taint.key, "operator": "Exists", "effect": taint.effect})
    return tolerations


def burnin_args(pool: GpuPoolSpec) -> list[str]:
    gpus = NODE_TYPES[pool.instance_type].gpus
    return [
        f"{MOUNT}/burnin.py",
        "--thresholds",
        f"{MOUNT}/{thresholds_key(pool)}",
        "--expect-gpus",
        str(gpus),
        "--gemm-seconds",
        str(pool.acceptance.soak_seconds),
        "--report",
        f"{RESULTS}/report.json",
        "--label-node",
        "$(NODE_NAME)",
        "--label-key",
        ACCEPTANCE_LABEL,
    ]


def daemonset(spec: StackSpec, pool: GpuPoolSpec, config_hash: str) -> kobj.Manifest:
    """The pool's burn-in: init container measures and labels; the main container only shows the report."""
    gpus = NODE_TYPES[pool.instance_type].gpus
    labels = {**APP_LABELS, POOL_LABEL: pool.name}
    selector = {"app.kubernetes.io/name": NAME, POOL_LABEL: pool.name}
    annotations = {} if pool.acceptance.gate else {"pulumi.com/skipAwait": "true"}
    env = [
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
        {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
        *({"name": k, "value": v} for k, v in NO_MULTICAST_ENV.items()),
    ]
    security = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": kobj.metadata(f"{NAME}-{pool.name}", NAMESPACE, labels, annotations or None),
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": pool.max_unavailable}},
            "template": {
                "metadata": {
                    "labels": {**labels, **selector},
                    "annotations": {"inference-ra.nvidia.com/acceptance-config": config_hash},
                },
                "spec": podsecurity.secure_pod(
                    {
                        "runtimeClassName": "nvidia",
                        "nodeSelector": pool_node_selector(pool),
                        "tolerations": _tolerations(pool),
                        "terminationGracePeriodSeconds": 10,
                        "initContainers": [
                            {
                                "name": "burn-in",
                                "image": IMAGES["pytorch"],
                                "command": ["python3"],
                                "args": burnin_args(pool),
                                "env": env,
                                "resources": {
                                    "requests": {"cpu": str(max(2, gpus)), "memory": f"{8 + 4 * gpus}Gi"},
                                    "limits": {"memory": f"{16 + 8 * gpus}Gi"},
                                },
                                "securityContext": security,
                                "volumeMounts": [
                                    {"name": "program", "mountPath": MOUNT, "readOnly": True},
                                    {"name": "results", "mountPath": RESULTS},
                                    {"name": "dshm", "mountPath": "/dev/shm"},
                                ],
                            }
                        ],
                        "containers": [
                            {
                                "name": "report",
                                "image": IMAGES["busybox"],
                                "command": ["sh", "-c", f"cat {RESULTS}/report.json; exec sleep 2147483647"],
                                "resources": {
                                    "requests": {"cpu": "1m", "memory": "4Mi"},
                                    "limits": {"memory": "16Mi"},
                                },
                                "securityContext": {**security, "readOnlyRootFilesystem": True},
                                "volumeMounts": [{"name": "results", "mountPath": RESULTS, "readOnly": True}],
                            }
                        ],
                        "volumes": [
                            {"name": "program", "configMap": {"name": NAME}},
                            {"name": "results", "emptyDir": {"sizeLimit": "16Mi"}},
                            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}},
                        ],
                    },
                    service_account=NAME,  # labels its own node: the one pod here that calls the API
                    api_access=True,
                ),
            },
        },
    }


def manifests(spec: StackSpec) -> list[kobj.Manifest]:
    """Every object of the layer, in apply order (empty when no pool runs acceptance)."""
    pools = pools_to_accept(spec)
    if not pools:
        return []
    cm = program_configmap(spec)
    config_hash = hashlib.sha256(json.dumps(cm["data"], sort_keys=True).encode()).hexdigest()[:16]
    return [*rbac(), *own_node_policy(), cm, *(daemonset(spec, p, config_hash) for p in pools)]


def build(ctx: PlatformContext, parent: pulumi.Resource) -> AcceptanceOutputs:
    objs = manifests(ctx.spec)
    if not objs:
        return AcceptanceOutputs()
    prereqs: list[pulumi.Resource] = []
    gates: dict[str, pulumi.Resource] = {}
    # From the compute layer: the GPU Operator (driver, `nvidia` RuntimeClass) and, on aws, the pool's node group.
    # Without them a gated DaemonSet on a pool with no nodes yet would roll out vacuously.
    operator = ctx.compute.gpu_operator
    node_groups = ctx.compute.node_groups
    for obj in objs:
        if obj["kind"] != "DaemonSet":
            prereqs.append(kobj.apply(obj, ctx.k8s_opts(parent, namespace=obj["metadata"].get("namespace"))))
            continue
        pool_name = obj["metadata"]["labels"][POOL_LABEL]
        pool = ctx.spec.pool(pool_name)
        assert pool is not None
        deps = [*prereqs, *([operator] if operator is not None else [])]
        if pool_name in node_groups:
            deps.append(node_groups[pool_name])
        opts = ctx.k8s_opts(parent, depends_on=deps, namespace=NAMESPACE)
        # a burn-in waits for the NGC image pull (~10 GB) and runs soakSeconds per GPU: allow for both
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="40m", update="40m"))
        )
        ds = kobj.apply(obj, opts)
        if pool.acceptance.gate:
            gates[pool_name] = ds
    return AcceptanceOutputs(gates=gates, node_selectors=node_selectors(ctx.spec))


def node_selectors(spec: StackSpec) -> dict[str, dict[str, str]]:
    """{gated pool: node selector entries its serving pods add} (empty when no pool runs acceptance)."""
    if not pools_to_accept(spec):
        return {}
    selectors = {p.name: gate_node_selector(spec, p.name) for p in spec.gpu_pools}
    return {pool: sel for pool, sel in selectors.items() if sel}


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> AcceptanceOutputs:
    """In a later layer stack: the gate selectors, from the spec; the gates themselves are in the platform stack,
    up before it (components/layering.py)."""
    return AcceptanceOutputs(node_selectors=node_selectors(ctx.spec))
