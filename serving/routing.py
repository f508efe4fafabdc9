"""Request routing: the Dynamo frontend's router (KV-aware by default) and, with `serving.routing.inferenceGateway`,
the Gateway API Inference Extension path shaped like Dynamo's gaie examples (examples/backends/vllm/deploy/gaie/
{agg,disagg}.yaml): an `epp` component running the release's EPP image with an EndpointPickerConfig built from the
plugins that release registers, and a frontend sidecar in every worker pod that serves the request on the worker
the EPP picked (`--router-mode direct`). The Dynamo operator creates the InferencePool `<graph>-pool` for the epp
component (deploy/operator/internal/dynamo/epp/inference_pool.go `GetPoolName`) and the EPP Service; this stack
creates neither. Clients reach the pool through an HTTPRoute of their Gateway (not rendered here).

The frontend's KV-router weight travels as the release's environment variable (`release.flags`): Dynamo 1.4.0 reads
`DYN_ROUTER_PREFILL_LOAD_SCALE` (dynamo/common/configuration/groups/kv_router_args.py:212) and keeps
`DYN_ROUTER_KV_OVERLAP_SCORE_WEIGHT` only as a deprecated alias of it (kv_router_args.py:83).
"""

from __future__ import annotations

from typing import Any

from components.catalog.dynamo import DynamoRelease
from components.spec.serving import ModelSpec

FRONTEND_PORT = 8000  # dynamo.frontend --http-port; the operator's DynamoServicePort
EPP_PORT = 9002  # the operator's EPPGRPCPort for `type: epp` components
GRAPH_LABEL = "nvidia.com/dynamo-graph-deployment-name"  # set by the Dynamo operator on every pod it creates
COMPONENT_TYPE_LABEL = "nvidia.com/dynamo-component-type"  # frontend | worker | prefill | decode | planner | epp
SIDECAR_FRONTEND = "sidecar-frontend"  # container name the worker's `frontendSidecar` designates
EPP_CONFIG_API = "inference.networking.x-k8s.io/v1alpha1"
EPP_RESOURCES = {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}


def pool_name(model: ModelSpec) -> str:
    """The InferencePool the operator creates for a graph's epp component (HTTPRoutes reference it)."""
    return f"{model.name}-pool"


def frontend_args(model: ModelSpec) -> list[str]:
    return ["--http-port", str(FRONTEND_PORT), "--router-mode", model.router]


def frontend_env(model: ModelSpec, release: DynamoRelease) -> list[dict[str, str]]:
    if model.router != "kv":
        return []
    return [{"name": release.flags["frontend.kv_load_scale_env"], "value": f"{model.kv_overlap_weight:g}"}]


def sidecar_frontend_args() -> list[str]:
    """The frontend beside each worker on the gateway path only serves on the worker the EPP chose (docs/kubernetes/
    inference-gateway.md: "The FrontEnd must run with --router-mode direct")."""
    return ["--http-port", str(FRONTEND_PORT), "--router-mode", "direct"]


def add_frontend_sidecar(component: dict[str, Any], container: dict[str, Any]) -> None:
    """Append the frontend container to a worker's pod and designate it (`frontendSidecar`, v1beta1: the operator
    merges its frontend defaults — env, ports, probes — into the named container)."""
    component["podTemplate"]["spec"]["containers"].append(container)
    component["frontendSidecar"] = container["name"]


def _label_filter(name: str, values: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "type": "label-filter",
        "parameters": {"label": COMPONENT_TYPE_LABEL, "validValues": values, "allowsNoLabel": False},
    }


def _profile(name: str, refs: list[str]) -> dict[str, Any]:
    return {"name": name, "plugins": [{"pluginRef": r, "weight": 1} for r in refs]}


def epp_config(model: ModelSpec) -> dict[str, Any]:
    """EndpointPickerConfig as the gaie examples write it: a `decode` profile (label filter on the workers' component
    type, the Dynamo decode scorer, the max-score picker) and, disaggregated, a `prefill` profile the
    disagg-profile-handler runs first (deploy/inference-gateway/epp/pkg/plugins/disagg/profile_handler.go)."""
    decode_type = "decode" if model.mode == "disaggregated" else "worker"
    plugins: list[dict[str, Any]] = [{"type": "disagg-profile-handler"}, _label_filter("decode-filter", [decode_type])]
    profiles = [_profile("decode", ["decode-filter", "dyn-decode", "picker"])]
    if model.mode == "disaggregated":
        plugins.append(_label_filter("prefill-filter", ["prefill"]))
        plugins.append({"name": "dyn-prefill", "type": "dyn-prefill-scorer"})
        profiles.insert(0, _profile("prefill", ["prefill-filter", "dyn-prefill", "picker"]))
    plugins += [{"name": "picker", "type": "max-score-picker"}, {"name": "dyn-decode", "type": "dyn-decode-scorer"}]
    return {
        "apiVersion": EPP_CONFIG_API,
        "kind": "EndpointPickerConfig",
        "plugins": plugins,
        "schedulingProfiles": profiles,
    }


def plugin_types(config: dict[str, Any]) -> set[str]:
    return {str(p["type"]) for p in config["plugins"]}


def epp_component(model: ModelSpec, image: str) -> dict[str, Any]:
    """The graph's Endpoint Picker (`type: epp`): the operator deploys it with its Service and the InferencePool.
    The 1.4.0 Go EPP takes the model name and KV block size from the worker's model card (its
    pkg/plugins/dynamo_kv_scorer only logs DYN_MODEL_NAME / DYN_KV_CACHE_BLOCK_SIZE), so neither is set here."""
    return {
        "name": "epp",
        "type": "epp",
        "replicas": 1,
        "eppConfig": {"config": epp_config(model)},
        "podTemplate": {"spec": {"containers": [{"name": "main", "image": image, "resources": EPP_RESOURCES}]}},
    }
