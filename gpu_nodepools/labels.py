"""Node labels and taints of a GPU pool, the same on AWS node groups and on an existing cluster's nodes.

Serving, acceptance and the operators select pool nodes by these labels and tolerate these taints.
"""

from __future__ import annotations

from components.constants import FABRIC_LABEL, GPU_MODEL_LABEL, GPU_TAINT, POOL_LABEL
from components.spec import GpuPoolSpec, StackSpec

PLACEMENT_GROUP_LABEL = "inference-ra.nvidia.com/placement-group"
CAPACITY_RESERVATION_LABEL = "inference-ra.nvidia.com/capacity-reservation"  # reserved pools: the reservation id
COMPUTE_DOMAIN_LABEL = "inference-ra.nvidia.com/compute-domain"  # "true" on pools with a GB200 ComputeDomain
MIG_CONFIG_LABEL = "nvidia.com/mig.config"  # read by the GPU Operator's MIG manager

# Kubernetes taint effect -> EKS node group API enum.
EKS_TAINT_EFFECT = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}


def pool_labels(spec: StackSpec, pool: GpuPoolSpec, placement_group: str | None = None) -> dict[str, str]:
    """Labels every node of the pool carries; the pool's own `labels` win only for keys we do not own."""
    labels = dict(pool.labels)
    labels.update(
        {
            POOL_LABEL: pool.name,
            GPU_MODEL_LABEL: pool.gpu,
            FABRIC_LABEL: spec.network.fabric.type,
        }
    )
    if placement_group:
        labels[PLACEMENT_GROUP_LABEL] = placement_group
    if spec.cluster.provider == "aws" and pool.capacity.reservation_id:
        labels[CAPACITY_RESERVATION_LABEL] = pool.capacity.reservation_id
    if pool.mig.strategy != "none" and pool.mig.config:
        labels[MIG_CONFIG_LABEL] = pool.mig.config
    if pool.compute_domain:
        labels[COMPUTE_DOMAIN_LABEL] = "true"
    return dict(sorted(labels.items()))


def pool_taints(pool: GpuPoolSpec) -> list[dict[str, str]]:
    """The GPU taint first, then the pool's extra taints (Kubernetes form)."""
    taints = [dict(GPU_TAINT)]
    for t in pool.taints:
        taint = {"key": t.key, "value": t.value, "effect": t.effect}
        if taint not in taints:
            taints.append(taint)
    return taints
