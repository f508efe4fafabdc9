"""NetworkPolicies for every namespace the stack runs its own pods in: default deny, then one policy per flow the
workloads there need, generated from the spec's workloads (graphs, Triton, prefetch and optimization Jobs, the
burn-in), tenant or not.

Each allow names its reason; egress to the internet (0.0.0.0/0, or a tenant's `egressCidrs`) is given only to pods
that download weights or data and carries the annotation OPEN_EGRESS_ANNOTATION with the reason (rule
network-egress-justified). docs/tenancy.md lists every flow. NetworkPolicy covers the primary CNI only: RDMA traffic
(NIXL over EFA / InfiniBand, Multus secondary networks) bypasses it (fabric isolation covers it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components import k8s as kobj
from components.namespaces import model_namespace
from components.spec import StackSpec
from components.spec.platform import QueueSpec
from components.spec.storage import PrefetchSpec

OPEN_EGRESS_ANNOTATION = "inference-ra.nvidia.com/open-egress-reason"
NETPOL_LABEL = {"app.kubernetes.io/part-of": "inference-ra", "inference-ra.nvidia.com/component": "network-policy"}
# Ports (Dynamo 1.4.0: frontend DYN_HTTP_PORT 8000, worker system port DYN_SYSTEM_PORT 9090 set by the operator,
# KVBM metrics DYN_KVBM_METRICS_PORT 6880 (serving/kv.py); NATS 4222; Prometheus 9090; Triton 8000/8001/8002).
FRONTEND_PORT = 8000
WORKER_METRICS_PORT = 9090
KVBM_METRICS_PORT = 6880
NATS_PORT = 4222
PROMETHEUS_PORT = 9090
TRITON_HTTP_PORT, TRITON_GRPC_PORT, TRITON_METRICS_PORT = 8000, 8001, 8002
API_SERVER_PORTS = (443, 6443)  # EKS endpoint / kubeadm-style API servers
HTTPS = 443
DYNAMO_COMPONENT_TYPE_LABEL = "nvidia.com/dynamo-component-type"
ROLE_LABEL = "inference-ra.nvidia.com/role"  # on every graph pod template (serving/graphs.py)
MODEL_LABEL = "inference-ra.nvidia.com/model"
PREFETCH_LABEL = "inference-ra.nvidia.com/prefetch"  # on every prefetch Job's pods (storage/cache.py)
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set by the Job controller on its pods
ACCEPTANCE_APP = {"app.kubernetes.io/name": "gpu-acceptance"}  # gpu_nodepools/acceptance.py APP_LABELS
TRITON_COMPONENT = "triton"
CACHE_NAMESPACE = "model-cache"
ACCEPTANCE_NAMESPACE = "gpu-acceptance"
WORKER_ROLES = ("worker", "prefill", "decode")


def _ns(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _ports(*ports: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": p} for p in ports]


def _cidrs(cidrs: Sequence[str]) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": c}} for c in cidrs]


def _policy(ns: str, name: str, body: dict[str, Any], reason: str = "") -> kobj.Manifest:
    ann = {OPEN_EGRESS_ANNOTATION: reason} if reason else None
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": kobj.metadata(name, ns, NETPOL_LABEL, ann),
        "spec": body,
    }


def _egress(ns: str, name: str, selector: dict[str, Any], to: list[dict[str, Any]], ports: list[dict[str, Any]],
            reason: str = "") -> kobj.Manifest:  # fmt: skip
    body = {"podSelector": selector, "policyTypes": ["Egress"], "egress": [{"to": to, "ports": ports}]}
    return _policy(ns, name, body, reason)


API_OPEN_REASON = (
    "Kubernetes API (Dynamo discovery, node labels): an existing cluster's API address is not in the spec; "
    "set policy.apiServerCidrs to narrow"
)


def _api_reason(spec: StackSpec) -> str:
    return API_OPEN_REASON if "0.0.0.0/0" in api_server_cidrs(spec) else ""


def api_server_cidrs(spec: StackSpec) -> list[str]:
    """Where the Kubernetes API answers: policy.apiServerCidrs, else the VPC (EKS endpoint ENIs) on aws, else
    anywhere (an existing cluster's API address is not in the spec: set policy.apiServerCidrs to narrow it)."""
    if spec.policy.api_server_cidrs:
        return list(spec.policy.api_server_cidrs)
    return [spec.network.vpc_cidr] if spec.cluster.provider == "aws" else ["0.0.0.0/0"]


def prefetched(spec: StackSpec) -> set[str]:
    return {p if isinstance(p, str) else p.uri for p in spec.storage.model_cache.prefetch}


def prefetch_namespaces(spec: StackSpec) -> set[str]:
    """Namespaces prefetch Jobs run in (storage/cache.py `prefetch_placements`: a serving namespace, else
    model-cache)."""
    out: set[str] = set()
    for p in spec.storage.model_cache.prefetch:
        uri = p.uri if isinstance(p, PrefetchSpec) else p
        serving = [model_namespace(spec, m.name) for m in spec.serving.models if m.model == uri]
        out.update(serving or [CACHE_NAMESPACE])
    return out


def policy_namespaces(spec: StackSpec) -> list[str]:
    """Every namespace the stack's own builders put pods in."""
    names = {model_namespace(spec, m.name) for m in spec.serving.models}
    names.update(t.namespace for t in spec.serving.triton)
    names.update(prefetch_namespaces(spec))
    if any(p.acceptance.enabled for p in spec.gpu_pools):
        names.add(ACCEPTANCE_NAMESPACE)
    return sorted(names)


def _tenant(spec: StackSpec, ns: str) -> QueueSpec | None:
    return next((q for q in spec.scheduling.queues if q.resolved_namespace == ns), None)


def network_policies(spec: StackSpec, ns: str) -> list[kobj.Manifest]:
    """Default deny, then one policy per flow the namespace's workloads need (a reviewer sees each opening by name)."""
    tenant = _tenant(spec, ns)
    models = [m for m in spec.serving.models if model_namespace(spec, m.name) == ns]
    tritons = [t for t in spec.serving.triton if t.namespace == ns]
    internet = list(tenant.egress_cidrs) if tenant else ["0.0.0.0/0"]
    ingress_from = [_ns(n) for n in tenant.ingress_from_namespaces] if tenant and tenant.ingress_from_namespaces else []
    monitoring = spec.observability.prometheus.namespace
    dns = [{**_ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    graph_pods = {"matchExpressions": [{"key": ROLE_LABEL, "operator": "Exists"}]}
    out = [
        _policy(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _egress(ns, "allow-dns-egress", {}, dns, _ports(53, protocol="UDP") + _ports(53)),
    ]
    if models or tritons:
        # frontend -> workers (request plane), prefill <-> decode (NIXL side channel), multinode leader <-> workers,
        # benchmark Job -> frontend
        body = {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        }
        out.append(_policy(ns, "allow-same-namespace", body))
    if models:
        out.append(
            _egress(ns, "allow-nats-egress", graph_pods, [_ns(spec.serving.dynamo.namespace)], _ports(NATS_PORT))
        )
        # Kubernetes discovery (DynamoWorkerMetadata, EndpointSlices) and the planner's scaling calls
        out.append(_egress(ns, "allow-apiserver-egress", graph_pods, _cidrs(api_server_cidrs(spec)),
                           _ports(*API_SERVER_PORTS), _api_reason(spec)))  # fmt: skip
        if any(m.autoscaling.mode == "planner-sla" for m in models):
            planner = {"matchLabels": {ROLE_LABEL: "planner"}}
            out.append(_egress(ns, "allow-planner-prometheus-egress", planner, [_ns(monitoring)],
                               _ports(PROMETHEUS_PORT)))  # fmt: skip
        front = {
            "podSelector": {"matchLabels": {DYNAMO_COMPONENT_TYPE_LABEL: "frontend"}},
            "policyTypes": ["Ingress"],
            "ingress": [{**({"from": ingress_from} if ingress_from else {}), "ports": _ports(FRONTEND_PORT)}],
        }
        out.append(_policy(ns, "allow-frontend-ingress", front))
    if tritons:
        body = {
            "podSelector": {"matchLabels": {"app.kubernetes.io/component": TRITON_COMPONENT}},
            "policyTypes": ["Ingress"],
            "ingress": [{**({"from": ingress_from} if ingress_from else {}),
                         "ports": _ports(TRITON_HTTP_PORT, TRITON_GRPC_PORT)}],
        }  # fmt: skip
        out.append(_policy(ns, "allow-triton-ingress", body))
        s3_ports = sorted({int(t.s3_endpoint.rsplit(":", 1)[1]) for t in tritons if t.s3_endpoint} | {HTTPS})
        if any(str(t.repository).startswith("s3://") for t in tritons):
            sel = {"matchLabels": {"app.kubernetes.io/component": TRITON_COMPONENT}}
            out.append(_egress(ns, "allow-triton-repository-egress", sel, _cidrs(internet), _ports(*s3_ports),
                               "Triton reads its model repository from S3 (serving.triton[].repository)"))  # fmt: skip
    if (models or tritons) and spec.observability.enabled:
        scrape = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_ns(monitoring)], "ports": _ports(
                FRONTEND_PORT, WORKER_METRICS_PORT, KVBM_METRICS_PORT, TRITON_METRICS_PORT)}],
        }  # fmt: skip
        out.append(_policy(ns, "allow-metrics-scrape", scrape))
    out += _download_egress(spec, ns, models, internet)
    if ns == ACCEPTANCE_NAMESPACE:  # the burn-in labels its own node
        out.append(_egress(ns, "allow-apiserver-egress", {"matchLabels": dict(ACCEPTANCE_APP)},
                           _cidrs(api_server_cidrs(spec)), _ports(*API_SERVER_PORTS), _api_reason(spec)))  # fmt: skip
    return out


def _download_egress(spec: StackSpec, ns: str, models: list[Any], internet: list[str]) -> list[kobj.Manifest]:
    """HTTPS to the model hubs / object storage, only for pods that download: prefetch Jobs, quantization Jobs
    (calibration dataset), and workers of models not prefetched (they fetch their own weights)."""
    out: list[kobj.Manifest] = []
    if ns in prefetch_namespaces(spec):
        sel: dict[str, Any] = {"matchExpressions": [{"key": PREFETCH_LABEL, "operator": "Exists"}]}
        out.append(_egress(ns, "allow-prefetch-egress", sel, _cidrs(internet), _ports(HTTPS),
                           "prefetch Jobs download checkpoints from Hugging Face / NGC / S3"))  # fmt: skip
    quantize = sorted(
        f"{m.name}-quantize-{m.optimization.quantize.format}" for m in models if m.optimization.quantize is not None
    )
    if quantize:
        sel = {"matchExpressions": [{"key": JOB_NAME_LABEL, "operator": "In", "values": quantize}]}
        out.append(_egress(ns, "allow-quantize-egress", sel, _cidrs(internet), _ports(HTTPS),
                           "quantization Jobs download their calibration dataset from Hugging Face"))  # fmt: skip
    done = prefetched(spec)
    fetching = sorted(m.name for m in models if m.model not in done)
    if fetching:
        sel = {
            "matchExpressions": [
                {"key": MODEL_LABEL, "operator": "In", "values": fetching},
                {"key": ROLE_LABEL, "operator": "In", "values": list(WORKER_ROLES)},
            ]
        }
        out.append(_egress(ns, "allow-weights-download-egress", sel, _cidrs(internet), _ports(HTTPS),
                           "workers of models not in storage.modelCache.prefetch fetch weights"))  # fmt: skip
    return out
