"""Triton Inference Server for traditional ML (the RA's TensorRT + Triton pairing): per `serving.triton[]` entry a
Deployment, Service (HTTP, gRPC, metrics), HorizontalPodAutoscaler and PodDisruptionBudget, plus a ServiceAccount
that carries the IRSA role on EKS.

The model repository is an s3:// location (AWS S3 through the storage layer's model-reader IRSA role on its
ServiceAccount, `StorageOutputs.model_reader_role_arn`, whose trust and bucket scope include this entry; an
S3-compatible store through `s3Endpoint` + a credentials Secret) or a path in the shared model cache claim, whose
PersistentVolumeClaim (`StorageOutputs.model_cache_claims`) the objects wait for.

Backends (TensorRT, ONNX Runtime, PyTorch, Python) ship in the pinned `tritonserver:<yy.mm>-py3` image; the spec's
`backends` list drives rules (TensorRT needs a GPU) and labels.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import k8s as kobj
from components.catalog import IMAGES
from components.constants import GPU_TOLERATION, MODEL_CACHE_CLAIM, MODEL_CACHE_MOUNT, POOL_LABEL
from components.context import PlatformContext
from components.spec import StackSpec
from components.spec.serving import TritonModelSpec
from serving.netpolicy import TRITON_COMPONENT, TRITON_GRPC_PORT, TRITON_HTTP_PORT, TRITON_METRICS_PORT

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
KAI_SCHEDULER = "kai-scheduler"
KAI_QUEUE_LABEL = "kai.scheduler/queue"  # kai-scheduler chart `queueLabelKey`
TRITON_UID = 1000  # the `triton-server` user of the NGC tritonserver image
SHM_SIZE = "2Gi"  # python backend and shared-memory I/O; the container default of 64Mi is too small
STARTUP_SECONDS = 900  # model load from S3 or a cold cache; readiness then gates traffic


def labels(t: TritonModelSpec) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": t.name,
        "app.kubernetes.io/component": TRITON_COMPONENT,
        "app.kubernetes.io/part-of": "inference-ra",
    }


def repository_uri(t: TritonModelSpec) -> str:
    """What Triton's --model-repository gets: s3://bucket/prefix (AWS), s3://<scheme>://host:port/bucket/prefix
    (S3-compatible endpoint), or an absolute path in the model cache."""
    repo = t.repository
    if repo.startswith("s3://"):
        path = repo.removeprefix("s3://").strip("/")
        return f"s3://{t.s3_endpoint}/{path}" if t.s3_endpoint else f"s3://{path}"
    if repo.startswith("/"):
        return repo.rstrip("/")
    return f"{MODEL_CACHE_MOUNT}/{repo.strip('/')}"


def uses_s3(t: TritonModelSpec) -> bool:
    return t.repository.startswith("s3://")


def tenant_of(spec: StackSpec, t: TritonModelSpec) -> str | None:
    return next((q.name for q in spec.scheduling.queues if q.resolved_namespace == t.namespace), None)


def _env(spec: StackSpec, t: TritonModelSpec, region: str | None) -> list[dict[str, Any]]:
    if not uses_s3(t):
        return []
    env: list[dict[str, Any]] = []
    if t.s3_region or region:
        env.append({"name": "AWS_DEFAULT_REGION", "value": t.s3_region or region})
    if t.s3_credentials_secret:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.append({"name": key, "valueFrom": {"secretKeyRef": {"name": t.s3_credentials_secret, "key": key}}})
    return env


def deployment(spec: StackSpec, t: TritonModelSpec, region: str | None = None) -> kobj.Manifest:
    lbl = labels(t)
    resources: dict[str, Any] = {
        "requests": {"cpu": str(t.cpu), "memory": f"{t.memory_gi}Gi"},
        "limits": {"memory": f"{t.memory_gi}Gi"},
    }
    if t.gpus:
        resources["requests"]["nvidia.com/gpu"] = str(t.gpus)
        resources["limits"]["nvidia.com/gpu"] = str(t.gpus)
    args = [
        f"--model-repository={repository_uri(t)}",
        f"--http-port={TRITON_HTTP_PORT}",
        f"--grpc-port={TRITON_GRPC_PORT}",
        f"--metrics-port={TRITON_METRICS_PORT}",
        "--allow-metrics=true",
        f"--allow-gpu-metrics={'true' if t.gpus else 'false'}",
        "--strict-readiness=true",
        "--exit-on-error=true",
    ]
    container: dict[str, Any] = {
        "name": "tritonserver",
        "image": IMAGES["triton"],
        "command": ["tritonserver"],
        "args": args,
        "ports": [
            {"name": "http", "containerPort": TRITON_HTTP_PORT, "protocol": "TCP"},
            {"name": "grpc", "containerPort": TRITON_GRPC_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": TRITON_METRICS_PORT, "protocol": "TCP"},
        ],
        "resources": resources,
        "startupProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": STARTUP_SECONDS // 10,
        },
        "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": "http"}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "periodSeconds": 5},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": TRITON_UID,
        },
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
    }
    env = _env(spec, t, region)
    if env:
        container["env"] = env
    volumes: list[dict[str, Any]] = [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE}}]
    if not uses_s3(t):
        container["volumeMounts"].append({"name": "model-cache", "mountPath": MODEL_CACHE_MOUNT, "readOnly": True})
        volumes.append(
            {"name": "model-cache", "persistentVolumeClaim": {"claimName": MODEL_CACHE_CLAIM, "readOnly": True}}
        )
    pod_labels = dict(lbl)
    pod: dict[str, Any] = {
        "serviceAccountName": t.name,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "automountServiceAccountToken": False,  # Triton never calls the Kubernetes API (checkov CKV_K8S_38)
        "terminationGracePeriodSeconds": 30,
        "containers": [container],
        "volumes": volumes,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": lbl},
            }
        ],
    }
    if t.pool:
        pod["nodeSelector"] = {POOL_LABEL: t.pool}
        pod["tolerations"] = [dict(GPU_TOLERATION)]
    tenant = tenant_of(spec, t)
    if t.gpus and spec.serving.dynamo.kai_scheduler and tenant:
        # GPU replicas count against the tenant's KAI queue, like its Dynamo graphs
        pod["schedulerName"] = KAI_SCHEDULER
        pod_labels[KAI_QUEUE_LABEL] = tenant
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": kobj.metadata(
            t.name, t.namespace, lbl, annotations={"inference-ra.nvidia.com/triton-backends": ",".join(t.backends)}
        ),
        # no `replicas`: the HPA owns the count (a value here would reset it on every update)
        "spec": {
            "selector": {"matchLabels": lbl},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod},
        },
    }


def service(t: TritonModelSpec) -> kobj.Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": kobj.metadata(t.name, t.namespace, labels(t)),
        "spec": {
            "type": "ClusterIP",
            "selector": labels(t),
            "ports": [
                {"name": "http", "port": TRITON_HTTP_PORT, "targetPort": "http", "protocol": "TCP"},
                {
                    "name": "grpc",
                    "port": TRITON_GRPC_PORT,
                    "targetPort": "grpc",
                    "protocol": "TCP",
                    "appProtocol": "grpc",
                },
                {"name": "metrics", "port": TRITON_METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
            ],
        },
    }


def hpa(t: TritonModelSpec) -> kobj.Manifest:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": kobj.metadata(t.name, t.namespace, labels(t)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": t.name},
            "minReplicas": t.replicas,
            "maxReplicas": t.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": t.target_cpu_utilization},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def pdb(t: TritonModelSpec) -> kobj.Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": kobj.metadata(t.name, t.namespace, labels(t)),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(t)}},
    }


def service_account(t: TritonModelSpec, role_arn: Any = None) -> kobj.Manifest:
    annotations = {IRSA_ANNOTATION: role_arn} if role_arn is not None else None
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": kobj.metadata(t.name, t.namespace, labels(t), annotations),
    }


def triton_objects(
    spec: StackSpec, t: TritonModelSpec, region: str | None = None, role_arn: Any = None
) -> list[kobj.Manifest]:
    irsa = role_arn if (spec.cluster.provider == "aws" and t.irsa_bucket) else None
    return [service_account(t, irsa), deployment(spec, t, region), service(t), hpa(t), pdb(t)]


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    spec = ctx.spec
    storage = ctx.storage
    role_arn = storage.model_reader_role_arn
    if spec.cluster.provider == "aws" and role_arn is None and any(t.irsa_bucket for t in spec.serving.triton):
        pulumi.log.warn(
            "triton: the storage layer made no model-reader IRSA role (the cluster has no OIDC provider); the Triton "
            "ServiceAccount has no IRSA role and S3 reads will be denied until one is annotated"
        )
    for t in spec.serving.triton:
        claim = None if uses_s3(t) else storage.model_cache_claims.get(t.namespace)
        deps = [claim] if claim is not None else []
        for manifest in triton_objects(spec, t, ctx.region, role_arn):
            kobj.apply(manifest, ctx.k8s_opts(parent, namespace=t.namespace, depends_on=deps))
