"""Pieces of a worker pod that come from the pool rather than the engine: its image, extended resources, fabric
environment, the grants the fabric needs, and the GB200 IMEX channel claim.

Each piece is its own function so that other pod-template concerns (the security posture's securityContext and
ServiceAccount defaults) compose with them without touching engine arguments. Readers of every value are listed in
docs/serving.md ("Rendered fields and their readers") and docs/fabric.md.
"""

from __future__ import annotations

from typing import Any

from components.catalog.dynamo import DynamoRelease
from components.outputs import FabricProfile
from components.spec import StackSpec
from components.spec.serving import ModelSpec
from serving import engines, kv

GPU_RESOURCE = "nvidia.com/gpu"
# The pod-level name of the ComputeDomain channel claim; the container's `resources.claims` refers to it.
CHANNEL_CLAIM = "compute-domain-channel"


class MissingImage(ValueError):
    pass


def uses_fabric_image(fabric: FabricProfile, model: ModelSpec, nodes: int) -> bool:
    """Whether a worker needs the fabric-enabled runtime image: on a libfabric (EFA) fabric, workers that move KV
    over NIXL (disaggregated) or run NCCL across nodes (multinode) need libfabric and aws-ofi-nccl in the image
    (Dynamo docs/kubernetes/cloud-providers/eks/efa.md "Build a Dynamo EFA image")."""
    return fabric.nixl_backend == "LIBFABRIC" and (kv.transfers(model) or nodes > 1)


def runtime_image(spec: StackSpec, model: ModelSpec, release: DynamoRelease) -> str:
    """The engine's runtime image of the release, or `serving.dynamo.images.<engine>`."""
    return spec.serving.dynamo.images.get(model.engine) or release.images[model.engine]  # type: ignore[call-overload]


def efa_image(spec: StackSpec, engine: str, release: DynamoRelease) -> str | None:
    """The EFA-enabled runtime: `serving.dynamo.images.<engine>-efa`, else the one the release publishes."""
    return spec.serving.dynamo.images.get(f"{engine}-efa") or release.efa_images.get(engine)  # type: ignore[call-overload]


def worker_image(spec: StackSpec, model: ModelSpec, release: DynamoRelease, fabric_image: bool) -> str:
    if not fabric_image:
        return runtime_image(spec, model, release)
    image = efa_image(spec, model.engine, release)
    if image is None:  # the efa-runtime-image rule reports this with its key path first
        raise MissingImage(f"no EFA-enabled {model.engine} runtime for Dynamo {release.version}")
    return image


def fabric_resources(fabric: FabricProfile, gpus: int) -> dict[str, int]:
    """The pool's fabric resources for a pod with `gpus` GPUs: what every pod takes (RDMA rails) and the NICs of
    the NIC groups its GPUs sit in (EFA: `nics_by_gpus[gpus - 1]`, networking/profile.py)."""
    out = dict(fabric.resources)
    if fabric.nic_resource and fabric.nics_by_gpus:
        out[fabric.nic_resource] = fabric.nics_by_gpus[min(max(gpus, 1), len(fabric.nics_by_gpus)) - 1]
    return dict(sorted(out.items()))


def worker_resources(fabric: FabricProfile, gpus: int) -> dict[str, str]:
    """GPUs and the pool's fabric resources for a pod with `gpus` GPUs (EFA interfaces in proportion to them)."""
    out = {GPU_RESOURCE: str(gpus)}
    out.update({k: str(v) for k, v in fabric_resources(fabric, gpus).items()})
    return out


def fabric_env(fabric: FabricProfile, model: ModelSpec) -> dict[str, str]:
    """The pool's NCCL / UCX / libfabric environment, plus the NIXL backend for engines that read it from the
    environment when the graph transfers KV (vLLM takes it in --kv-transfer-config)."""
    env = dict(sorted(fabric.env.items()))
    if kv.transfers(model):
        env.update(engines.nixl_backend_env(model.engine, fabric.nixl_backend))
    return env


def fabric_grants(fabric: FabricProfile, model: ModelSpec, role: str) -> dict[str, Any]:
    """The container securityContext the fabric needs: IPC_LOCK to pin RDMA buffers on any RDMA fabric, and on
    EFA `privileged` for the workers that register GPU memory with the NIC through NIXL (Dynamo's EFA guide:
    "privileged: true is required for NIXL to register CUDA VRAM with the EFA NIC via fi_mr_reg. IPC_LOCK alone is
    insufficient"). The policy pack exempts exactly these containers (policies/exemptions.py); the trade-off is
    stated in docs/fabric.md."""
    ctx: dict[str, Any] = {}
    if fabric.nixl_needs_privileged and kv.transfers(model) and role in ("prefill", "decode"):
        ctx["privileged"] = True
    if fabric.capabilities:
        ctx["capabilities"] = {"add": list(fabric.capabilities)}
    return ctx


def compute_domain_claim(template: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(pod fields, container `resources.claims`) that give a pod the IMEX channel of its pool's ComputeDomain
    through the domain's ResourceClaimTemplate (NVIDIA DRA driver ComputeDomain guide: pod `resourceClaims` with
    `resourceClaimTemplateName`, container `resources.claims[].name`)."""
    pod = {"resourceClaims": [{"name": CHANNEL_CLAIM, "resourceClaimTemplateName": template}]}
    return pod, [{"name": CHANNEL_CLAIM}]
