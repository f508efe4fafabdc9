"""Compute spec rules: the shipped stacks pass, and every rule rejects its failing case with a key path."""

from __future__ import annotations

from typing import Any

import pytest

from components.catalog.compat import AMI_FAMILIES, DRIVER_BRANCHES, EKS_KUBERNETES_VERSIONS, GPU_OPERATOR_RELEASES
from components.loader import SpecError
from components.rules import RULES, check_spec, load_rule_modules
from tests.compute.conftest import spec_of, stack_mapping


def problems(data: dict[str, Any], rule: str) -> list[str]:
    """Rendered problems of one rule for a config (other rules' problems are ignored)."""
    load_rule_modules()
    try:
        spec = spec_of(data)
    except SpecError:
        from components.spec import StackSpec

        spec = StackSpec.model_validate(data)
    return [p.render() for p in RULES[rule](spec)]


@pytest.mark.parametrize("stack", ["aws-h100", "ncp-ib", "dev"])
def test_shipped_stacks_pass_every_rule(stack: str) -> None:
    assert check_spec(spec_of(stack_mapping(stack))) == []


def test_matrix_catalog_is_consistent() -> None:
    for release in GPU_OPERATOR_RELEASES.values():
        assert set(release.driver_branches) <= set(DRIVER_BRANCHES)
    for ami in AMI_FAMILIES.values():
        assert ami.driver_branch in DRIVER_BRANCHES
    for k8s in EKS_KUBERNETES_VERSIONS:  # every EKS minor we accept is one the GPU Operator supports
        assert all(k8s in r.kubernetes for r in GPU_OPERATOR_RELEASES.values()), k8s


# ------------------------------------------------------------------------------------------- compat-matrix
def test_rejects_unknown_operator_version() -> None:
    d = stack_mapping("ncp-ib")
    d["gpuOperator"]["version"] = "v24.9.0"
    out = problems(d, "compat-matrix")
    assert out == [
        "inference-ra:gpuOperator.version: is not in the compatibility matrix (got 'v24.9.0'; use one of ['v26.7.0'])"
    ]


def test_rejects_kubernetes_outside_operator_support() -> None:
    d = stack_mapping("ncp-ib")
    d["cluster"]["kubernetesVersion"] = "1.29"
    out = problems(d, "compat-matrix")
    assert any("cluster.kubernetesVersion: is not supported by GPU Operator v26.7.0" in p for p in out), out


def test_rejects_driver_branch_too_old_for_blackwell() -> None:
    d = stack_mapping("ncp-ib")
    d["gpuOperator"]["driver"]["version"] = "550.127.08"
    out = problems(d, "compat-matrix")
    assert any("R550 is not supported by GPU Operator v26.7.0" in p for p in out), out
    assert any("R550 does not support blackwell GPUs (pool 'gb200', gb200)" in p for p in out), out
    assert not any("pool 'h200'" in p for p in out), out  # Hopper is fine on R550


def test_rejects_aws_driver_that_differs_from_the_ami() -> None:
    d = stack_mapping("aws-h100")
    d["gpuOperator"]["driver"]["version"] = "595.91.07"
    out = problems(d, "compat-matrix")
    assert out == [
        "inference-ra:gpuOperator.driver.version: the al2023 accelerated AMI ships driver branch R580 "
        "(got '595.91.07'; set driver.version to an R580 version (e.g. 580.95.05))"
    ]


def test_rejects_operator_driver_on_eks_ami() -> None:
    d = stack_mapping("aws-h100")
    d["gpuOperator"]["driver"]["enabled"] = True
    out = problems(d, "compat-matrix")
    assert len(out) == 1 and "gpuOperator.driver.enabled" in out[0] and "AL2023_x86_64_NVIDIA" in out[0]


def test_rejects_gds_on_eks_ami() -> None:
    d = stack_mapping("aws-h100")
    d["gpuOperator"]["gds"] = True
    assert any("gpuOperator.gds" in p for p in problems(d, "compat-matrix"))


def test_rejects_aws_node_os_without_ami_family() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["nodeOs"] = "ubuntu-24.04"
    out = problems(d, "compat-matrix")
    assert out == [
        "inference-ra:cluster.nodeOs: has no EKS accelerated AMI family in the compatibility matrix "
        "(got 'ubuntu-24.04'; use one of ['al2023'])"
    ]


def test_rejects_driver_container_on_unsupported_os() -> None:
    d = stack_mapping("ncp-ib")
    d["cluster"]["nodeOs"] = "al2023"
    out = problems(d, "compat-matrix")
    assert any("cannot install the driver on al2023" in p and "ubuntu-24.04" in p for p in out), out


def test_rejects_kubernetes_eks_does_not_serve() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["kubernetesVersion"] = "1.35"
    out = problems(d, "compat-matrix")
    assert any("is not a Kubernetes minor EKS serves in standard support" in p for p in out), out


# ------------------------------------------------------------------------------------------- efa-pool-zone
def test_rejects_efa_pool_without_zone_when_several_azs() -> None:
    d = stack_mapping("aws-h100")
    del d["gpuPools"][0]["availabilityZone"]
    out = problems(d, "efa-pool-zone")
    assert out == [
        "inference-ra:gpuPools[0].availabilityZone: an EFA pool lives in one AZ, and network.availabilityZones "
        "lists several (got None; set availabilityZone to one of ['us-east-2a', 'us-east-2b'])"
    ]


def test_efa_pool_with_one_az_needs_no_zone() -> None:
    d = stack_mapping("aws-h100")
    del d["gpuPools"][0]["availabilityZone"]
    d["network"]["availabilityZones"] = ["us-east-2a"]
    assert problems(d, "efa-pool-zone") == []


# ----------------------------------------------------------------------------------- capacity-reservation
def test_rejects_capacity_block_without_reservation_id() -> None:
    d = stack_mapping("aws-h100")
    d["gpuPools"][0]["capacity"] = {"type": "capacity-block"}
    out = problems(d, "capacity-reservation")
    assert out == [
        "inference-ra:gpuPools[0].capacity.reservationId: a capacity-block needs the id of the reservation to "
        "launch into (got None; set reservationId: cr-...)"
    ]


def test_rejects_reservation_id_on_spot() -> None:
    d = stack_mapping("aws-h100")
    d["gpuPools"][0]["capacity"] = {"type": "spot", "reservationId": "cr-0abc123"}
    assert any("only used by capacity-block" in p for p in problems(d, "capacity-reservation"))


def test_rejects_purchase_option_on_existing_cluster() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0]["capacity"] = {"type": "spot"}
    assert any("gpuPools[0].capacity: purchase options apply to aws" in p for p in problems(d, "capacity-reservation"))


# ------------------------------------------------------------------------------------------- mig-profiles
def test_rejects_mig_profile_the_gpu_lacks() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0]["mig"] = {"strategy": "single", "config": "all-1g.10gb", "profiles": ["1g.18gb"]}
    out = problems(d, "mig-profiles")
    assert out == [
        "inference-ra:gpuPools[0].mig.profiles[0]: is not a MIG profile of h100-sxm-80gb (got '1g.18gb'; use one "
        "of ['1g.10gb', '1g.20gb', '2g.20gb', '3g.40gb', '4g.40gb', '7g.80gb'])"
    ]


def test_rejects_mig_config_with_unknown_profile() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0]["mig"] = {"strategy": "single", "config": "all-1g.5gb"}
    assert any("mig.config: names a profile h100-sxm-80gb does not have" in p for p in problems(d, "mig-profiles"))


def test_rejects_mig_without_config() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0]["mig"] = {"strategy": "mixed", "profiles": ["1g.10gb", "3g.40gb"]}
    assert any("mig.config: a MIG pool needs" in p for p in problems(d, "mig-profiles"))


def test_rejects_mig_on_gpu_without_mig() -> None:
    d = stack_mapping("aws-h100")
    d["gpuPools"][0].update(gpu="l40s-48gb", instanceType="g6e.48xlarge", mig={"strategy": "single"})
    assert any("l40s-48gb does not support MIG" in p for p in problems(d, "mig-profiles"))


def test_rejects_single_strategy_with_several_profiles() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0]["mig"] = {"strategy": "single", "config": "all-balanced", "profiles": ["1g.10gb", "3g.40gb"]}
    assert any("several need the mixed strategy" in p for p in problems(d, "mig-profiles"))


def test_rejects_conflicting_mig_strategies() -> None:
    d = stack_mapping("ncp-ib")
    d["gpuPools"][0]["mig"] = {"strategy": "single", "config": "all-1g.18gb"}
    d["gpuPools"][1]["mig"] = {"strategy": "mixed", "config": "all-balanced"}
    assert any("MIG strategy is cluster-wide" in p for p in problems(d, "mig-profiles"))


def test_rejects_mig_settings_with_strategy_none() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0]["mig"] = {"profiles": ["1g.10gb"]}
    assert any("mig.strategy: is none" in p for p in problems(d, "mig-profiles"))


# ----------------------------------------------------------------------------------------- compute-domain
def test_rejects_compute_domain_on_single_node_nvlink() -> None:
    d = stack_mapping("ncp-ib")
    d["gpuPools"][0]["computeDomain"] = True  # h200 HGX: NVLink ends at the node
    out = problems(d, "compute-domain")
    assert out == [
        "inference-ra:gpuPools[0].computeDomain: a ComputeDomain spans a multi-node NVLink domain; h200-sxm-141gb "
        "NVLink stays inside one hgx-h200-8gpu (8 GPUs) (got True; use a multi-node NVLink system "
        "(gb200-nvl72-tray) or set computeDomain: false)"
    ]


def test_rejects_compute_domain_without_dra() -> None:
    d = stack_mapping("ncp-ib")
    d["cluster"]["kubernetesVersion"] = "1.31"
    assert any("need Dynamic Resource Allocation" in p for p in problems(d, "compute-domain"))


# ------------------------------------------------------------------------------- system-nodes, local-nvme
def test_rejects_system_nodes_out_of_order() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["systemNodes"] = {"min": 3, "desired": 2, "max": 6}
    assert problems(d, "system-nodes") == [
        "inference-ra:cluster.systemNodes: needs min <= desired <= max "
        "(got 'min 3, desired 2, max 6'; adjust the bounds)"
    ]


def test_rejects_local_nvme_on_node_without_nvme() -> None:
    from components.catalog import NODE_TYPES

    no_nvme = [k for k, n in NODE_TYPES.items() if n.nvme_devices == 0]
    if not no_nvme:
        pytest.skip("every catalog node type has local NVMe")
    d = stack_mapping("dev")
    d["gpuPools"][0]["instanceType"] = no_nvme[0]
    assert any("has no local NVMe devices" in p for p in problems(d, "local-nvme"))


def test_rejects_local_nvme_on_system_directory() -> None:
    d = stack_mapping("dev")
    d["gpuPools"][0]["localNvme"] = {"mountPath": "/var"}
    assert any("localNvme.mountPath: must be an absolute path of its own" in p for p in problems(d, "local-nvme"))
