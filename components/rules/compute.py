"""Rules of the compute layer: the compatibility matrix, EFA placement, capacity purchase options, MIG, GB200
ComputeDomains, system nodes and local NVMe.

Rules that join layers (GPU vs instance type, node-count bounds, waking from zero, EFA on the instance type) live in
rules/spine.py and are not repeated here.
"""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog.compat import (
    AMI_FAMILIES,
    DRA_MIN_KUBERNETES,
    DRIVER_BRANCHES,
    EKS_KUBERNETES_VERSIONS,
    GPU_OPERATOR_RELEASES,
    minor,
)
from components.rules import Problem, one_of, rule
from components.spec import StackSpec

# MIG config names the GPU Operator's default mig-parted config knows besides `all-<profile>`.
MIG_GENERIC_CONFIGS = frozenset({"all-disabled", "all-enabled", "all-balanced"})


def driver_managed_by_operator(spec: StackSpec) -> bool:
    """Whether the GPU Operator installs the driver: off on the EKS accelerated AMI, on for existing clusters."""
    enabled = spec.gpu_operator.driver.enabled
    if enabled is not None:
        return enabled
    return spec.cluster.provider != "aws"


@rule("compat-matrix")
def compat_matrix(spec: StackSpec) -> Iterator[Problem]:
    op = spec.gpu_operator
    release = GPU_OPERATOR_RELEASES.get(op.version)
    if release is None:
        yield Problem(
            "gpuOperator.version",
            "is not in the compatibility matrix",
            op.version,
            one_of(op.version, list(GPU_OPERATOR_RELEASES)),
        )
        return
    k8s = spec.cluster.kubernetes_version
    if k8s not in release.kubernetes:
        yield Problem(
            "cluster.kubernetesVersion",
            f"is not supported by GPU Operator {op.version}",
            k8s,
            f"use one of {list(release.kubernetes)}",
        )
    if spec.cluster.provider == "aws" and k8s not in EKS_KUBERNETES_VERSIONS:
        yield Problem(
            "cluster.kubernetesVersion",
            "is not a Kubernetes minor EKS serves in standard support (components/catalog/compat.py)",
            k8s,
            f"use one of {list(EKS_KUBERNETES_VERSIONS)}",
        )
    branch = op.driver.branch
    if branch not in release.driver_branches:
        yield Problem(
            "gpuOperator.driver.version",
            f"driver branch R{branch} is not supported by GPU Operator {op.version}",
            op.driver.version,
            f"use a driver of branch {['R' + str(b) for b in release.driver_branches]}",
        )
    info = DRIVER_BRANCHES.get(branch)
    for pool in spec.gpu_pools:
        gpu = spec.gpu_model(pool)
        if gpu is None or info is None:
            continue
        if gpu.generation not in info.generations:
            ok = sorted(b for b, d in DRIVER_BRANCHES.items() if gpu.generation in d.generations)
            yield Problem(
                "gpuOperator.driver.version",
                f"driver branch R{branch} does not support {gpu.generation} GPUs (pool '{pool.name}', {gpu.key})",
                op.driver.version,
                f"use a driver of branch {['R' + str(b) for b in ok]}",
            )
    node_os = spec.cluster.resolved_node_os
    operator_driver = driver_managed_by_operator(spec)
    if spec.cluster.provider == "aws":
        ami = AMI_FAMILIES.get(node_os)
        if ami is None:
            yield Problem(
                "cluster.nodeOs",
                "has no EKS accelerated AMI family in the compatibility matrix",
                node_os,
                f"use one of {sorted(AMI_FAMILIES)}",
            )
            return
        if operator_driver:
            yield Problem(
                "gpuOperator.driver.enabled",
                f"the EKS accelerated AMI ({ami.ami_type_x86_64}) ships the NVIDIA driver; a driver container "
                "would conflict with it",
                True,
                "leave driver.enabled unset (false on aws)",
            )
        if op.gds:
            yield Problem(
                "gpuOperator.gds",
                "GPUDirect Storage (nvidia-fs) is deployed with the operator's driver container, which the EKS "
                "accelerated AMI does not use",
                True,
                "set gds: false on aws",
            )
        if branch != ami.driver_branch:
            yield Problem(
                "gpuOperator.driver.version",
                f"the {node_os} accelerated AMI ships driver branch R{ami.driver_branch}",
                op.driver.version,
                f"set driver.version to an R{ami.driver_branch} version (e.g. {ami.driver_branch}.95.05)",
            )
        return
    supported = release.driver_container_os if operator_driver else release.preinstalled_driver_os
    if node_os not in supported:
        how = "install the driver on" if operator_driver else "use a pre-installed driver on"
        yield Problem(
            "cluster.nodeOs",
            f"GPU Operator {op.version} cannot {how} {node_os}",
            node_os,
            f"use one of {list(supported)}",
        )


@rule("efa-pool-zone")
def efa_pool_zone(spec: StackSpec) -> Iterator[Problem]:
    """EFA traffic does not cross AZs, and reservations live in one AZ: such pools name their AZ."""
    if spec.cluster.provider != "aws" or len(spec.network.availability_zones) < 2:
        return
    for i, pool in enumerate(spec.gpu_pools):
        nt = spec.node_type(pool)
        efa = spec.network.fabric.type == "efa" and nt is not None and nt.efa_interfaces > 0
        reserved = pool.capacity.type in ("capacity-block", "capacity-reservation")
        if (efa or reserved) and pool.availability_zone is None:
            why = "an EFA pool lives in one AZ" if efa else f"a {pool.capacity.type} lives in one AZ"
            yield Problem(
                f"gpuPools[{i}].availabilityZone",
                f"{why}, and network.availabilityZones lists several",
                None,
                f"set availabilityZone to one of {spec.network.availability_zones}",
            )


@rule("capacity-reservation")
def capacity_reservation(spec: StackSpec) -> Iterator[Problem]:
    for i, pool in enumerate(spec.gpu_pools):
        cap, at = pool.capacity, f"gpuPools[{i}].capacity"
        if spec.cluster.provider != "aws":
            if cap.type != "on-demand" or cap.reservation_id:
                yield Problem(
                    at,
                    "purchase options apply to aws node groups only; an existing cluster's nodes are not bought here",
                    cap.type,
                    "remove capacity from the pool",
                )
            continue
        if cap.type in ("capacity-block", "capacity-reservation") and not cap.reservation_id:
            yield Problem(
                f"{at}.reservationId",
                f"a {cap.type} needs the id of the reservation to launch into",
                None,
                "set reservationId: cr-...",
            )
        if cap.type in ("on-demand", "spot") and cap.reservation_id:
            yield Problem(
                f"{at}.reservationId",
                f"is only used by capacity-block and capacity-reservation, not {cap.type}",
                cap.reservation_id,
                "set type: capacity-reservation (or capacity-block), or drop reservationId",
            )


@rule("mig-profiles")
def mig_profiles(spec: StackSpec) -> Iterator[Problem]:
    strategies: dict[str, str] = {}
    for i, pool in enumerate(spec.gpu_pools):
        mig, at = pool.mig, f"gpuPools[{i}].mig"
        gpu = spec.gpu_model(pool)
        if gpu is None:
            continue
        if mig.strategy == "none":
            if mig.profiles or mig.config:
                yield Problem(
                    f"{at}.strategy",
                    "is none but MIG profiles or a MIG config are set",
                    mig.strategy,
                    "set strategy: single or mixed, or remove profiles/config",
                )
            continue
        strategies[pool.name] = mig.strategy
        if not gpu.mig_profiles:
            yield Problem(f"{at}.strategy", f"{gpu.key} does not support MIG", mig.strategy, "set strategy: none")
            continue
        for j, profile in enumerate(mig.profiles):
            if profile not in gpu.mig_profiles:
                yield Problem(
                    f"{at}.profiles[{j}]",
                    f"is not a MIG profile of {gpu.key}",
                    profile,
                    f"use one of {list(gpu.mig_profiles)}",
                )
        if mig.config is None:
            yield Problem(
                f"{at}.config",
                "a MIG pool needs the mig-parted config its nodes are labelled with (nvidia.com/mig.config)",
                None,
                f"set config: all-{gpu.mig_profiles[0]} (or all-balanced)",
            )
        elif (
            mig.config not in MIG_GENERIC_CONFIGS
            and mig.config.startswith("all-")
            and mig.config[4:] not in gpu.mig_profiles
        ):
            yield Problem(
                f"{at}.config",
                f"names a profile {gpu.key} does not have",
                mig.config,
                f"use all-<profile> with a profile of {list(gpu.mig_profiles)}, or all-balanced",
            )
        if mig.strategy == "single" and len(set(mig.profiles)) > 1:
            yield Problem(
                f"{at}.profiles",
                "the single strategy exposes one profile per node; several need the mixed strategy",
                mig.profiles,
                "set strategy: mixed",
            )
    if len(set(strategies.values())) > 1:
        yield Problem(
            "gpuPools",
            "the GPU Operator's MIG strategy is cluster-wide; pools ask for different ones",
            strategies,
            "use the same strategy (mixed covers both) on every MIG pool",
        )


@rule("compute-domain")
def compute_domain(spec: StackSpec) -> Iterator[Problem]:
    for i, pool in enumerate(spec.gpu_pools):
        if not pool.compute_domain:
            continue
        gpu, nt = spec.gpu_model(pool), spec.node_type(pool)
        at = f"gpuPools[{i}].computeDomain"
        if gpu is not None and nt is not None and gpu.nvlink_domain <= nt.gpus:
            yield Problem(
                at,
                f"a ComputeDomain spans a multi-node NVLink domain; {gpu.key} NVLink stays inside one "
                f"{nt.key} ({gpu.nvlink_domain} GPUs)",
                True,
                "use a multi-node NVLink system (gb200-nvl72-tray) or set computeDomain: false",
            )
        if minor(spec.cluster.kubernetes_version) < minor(DRA_MIN_KUBERNETES):
            yield Problem(
                "cluster.kubernetesVersion",
                f"ComputeDomains need Dynamic Resource Allocation (Kubernetes >= {DRA_MIN_KUBERNETES})",
                spec.cluster.kubernetes_version,
                f"use Kubernetes {DRA_MIN_KUBERNETES} or newer",
            )


@rule("system-nodes")
def system_nodes(spec: StackSpec) -> Iterator[Problem]:
    s = spec.cluster.system_nodes
    if not (s.min <= s.desired <= s.max):
        yield Problem(
            "cluster.systemNodes",
            "needs min <= desired <= max",
            f"min {s.min}, desired {s.desired}, max {s.max}",
            "adjust the bounds",
        )


@rule("local-nvme")
def local_nvme(spec: StackSpec) -> Iterator[Problem]:
    for i, pool in enumerate(spec.gpu_pools):
        nvme = pool.local_nvme
        if nvme is None:
            continue
        nt = spec.node_type(pool)
        if nt is not None and nt.nvme_devices == 0:
            yield Problem(
                f"gpuPools[{i}].localNvme",
                f"{pool.instance_type} has no local NVMe devices",
                pool.instance_type,
                "remove localNvme or pick a node type with instance storage",
            )
        if not nvme.mount_path.startswith("/") or nvme.mount_path.rstrip("/") in ("", "/var", "/var/lib", "/etc"):
            yield Problem(
                f"gpuPools[{i}].localNvme.mountPath",
                "must be an absolute path of its own (not / or a system directory)",
                nvme.mount_path,
                "use e.g. /mnt/nvme",
            )
