"""Request routing: the Dynamo frontend's router (KV-aware by default) and the optional Gateway API Inference
Extension `InferencePool` in front of a graph's frontends.

Router flags are the frontend's documented ones (`--router-mode`); the overlap weight travels as
`DYN_ROUTER_KV_OVERLAP_SCORE_WEIGHT`, which every 1.x frontend reads (newer ones map it onto
`--router-prefill-load-scale` with a deprecation warning, an env var never fails argument parsing).
"""

from __future__ import annotations

from typing import Any

from components import k8s as kobj
from components.spec.serving import ModelSpec

FRONTEND_PORT = 8000  # dynamo.frontend --http-port; the operator's DynamoServicePort
EPP_PORT = 9002  # the operator's EPPGRPCPort for `type: epp` components
GRAPH_LABEL = "nvidia.com/dynamo-graph-deployment-name"  # set by the Dynamo operator on every pod it creates
COMPONENT_TYPE_LABEL = "nvidia.com/dynamo-component-type"  # frontend | worker | prefill | decode | planner | epp
INFERENCE_POOL_API = "inference.networking.k8s.io/v1"


def frontend_args(model: ModelSpec) -> list[str]:
    return ["--http-port", str(FRONTEND_PORT), "--router-mode", model.router]


def frontend_env(model: ModelSpec) -> list[dict[str, str]]:
    if model.router != "kv":
        return []
    return [{"name": "DYN_ROUTER_KV_OVERLAP_SCORE_WEIGHT", "value": f"{model.kv_overlap_weight:g}"}]


def inference_pool(model: ModelSpec, namespace: str, epp_service: str) -> kobj.Manifest:
    """An InferencePool whose members are the graph's frontend pods; the gateway asks the graph's EPP to pick one."""
    return {
        "apiVersion": INFERENCE_POOL_API,
        "kind": "InferencePool",
        "metadata": kobj.metadata(model.name, namespace, {"inference-ra.nvidia.com/model": model.name}),
        "spec": {
            "selector": {"matchLabels": {GRAPH_LABEL: model.name, COMPONENT_TYPE_LABEL: "frontend"}},
            "targetPorts": [{"number": FRONTEND_PORT}],
            "endpointPickerRef": {"name": epp_service, "port": {"number": EPP_PORT}, "failureMode": "FailClose"},
        },
    }


def epp_component(model: ModelSpec, image: str) -> dict[str, Any]:
    """The graph's Endpoint Picker (`type: epp`): the operator deploys it and its Service `<graph>-epp`."""
    return {
        "name": "epp",
        "type": "epp",
        "replicas": 1,
        "eppConfig": {
            "config": {
                "apiVersion": "inference.networking.x-k8s.io/v1alpha1",
                "kind": "EndpointPickerConfig",
                "plugins": [{"name": "dyn-kv", "type": "dyn-kv"}],
                "schedulingProfiles": [{"name": "default", "plugins": [{"pluginRef": "dyn-kv"}]}],
            }
        },
        "podTemplate": {"spec": {"containers": [{"name": "main", "image": image}]}},
    }
