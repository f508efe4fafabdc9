"""Storage spec rules: each passes on the shipped stacks and fails with the numbers on a broken variant."""

from __future__ import annotations

import pytest

from components.rules import check_spec
from tests.storage.conftest import make_spec, run_rule

STORAGE_RULES = ("parallel-fs", "model-cache", "gds-filesystem", "cold-start-budget")


@pytest.mark.parametrize("stack", ["dev", "aws-h100", "ncp-ib"])
def test_shipped_stacks_pass_every_rule(stack: str) -> None:
    assert [p.render() for p in check_spec(make_spec(stack))] == []


# ---- parallel-fs -----------------------------------------------------------------------------------------------
def test_rejects_fsx_throughput_that_is_no_persistent2_tier() -> None:
    spec = make_spec("aws-h100", storage__parallelFs__throughputMBpsPerTiB=300)
    (p,) = run_rule("parallel-fs", spec)
    assert p.path == "storage.parallelFs.throughputMBpsPerTiB" and p.got == 300
    assert "[125, 250, 500, 1000]" in p.fix


def test_rejects_efa_fsx_capacity_off_its_step() -> None:
    # EFA at 500 MB/s/TiB grows in 9.6 TiB steps; 24 TiB is not one.
    spec = make_spec("aws-h100", storage__parallelFs__throughputMBpsPerTiB=500)
    (p,) = run_rule("parallel-fs", spec)
    assert p.path == "storage.parallelFs.capacityTiB" and "9.6 TiB" in p.message


def test_rejects_fsx_capacity_off_the_2_4_tib_step() -> None:
    spec = make_spec("aws-h100", storage__parallelFs__efa=False, storage__parallelFs__capacityTiB=5)
    (p,) = run_rule("parallel-fs", spec)
    assert p.path == "storage.parallelFs.capacityTiB" and p.got == 5


def test_accepts_fsx_at_1_2_tib() -> None:
    spec = make_spec("aws-h100", storage__parallelFs__efa=False, storage__parallelFs__capacityTiB=1.2)
    assert run_rule("parallel-fs", spec) == []


def test_rejects_fsx_on_an_existing_cluster() -> None:
    spec = make_spec("ncp-ib", storage__parallelFs={"type": "fsx-lustre", "capacityTiB": 2.4})
    paths = [p.path for p in run_rule("parallel-fs", spec)]
    assert paths == ["storage.parallelFs.type"]


def test_rejects_efa_without_fsx() -> None:
    spec = make_spec("ncp-ib", storage__parallelFs__efa=True)
    assert [p.path for p in run_rule("parallel-fs", spec)] == ["storage.parallelFs.efa"]


def test_rejects_csi_profile_without_its_required_settings() -> None:
    spec = make_spec("ncp-ib", storage__parallelFs={"type": "gpfs", "capacityTiB": 100, "aggregateReadGBps": 200})
    paths = sorted(p.path for p in run_rule("parallel-fs", spec))
    assert paths == ["storage.parallelFs.csi.path", "storage.parallelFs.csi.volumeHandle"]


# ---- model-cache -----------------------------------------------------------------------------------------------
def test_rejects_cache_smaller_than_the_prefetched_weights() -> None:
    # DeepSeek-R1 fp8 (671e9 B = 625 GiB) + Llama-3.1-70B bf16 (141.2e9 B = 131.5 GiB) = 756.4 GiB
    spec = make_spec("ncp-ib", storage__modelCache__sizeGi=700)
    (p,) = run_rule("model-cache", spec)
    assert p.path == "storage.modelCache.sizeGi" and p.got == 700
    assert "756 GiB" in p.message and "sizeGi >= 757" in p.fix


def test_rejects_unsizable_prefetch() -> None:
    spec = make_spec("dev", storage__modelCache__prefetch=["Qwen/Qwen3-32B"])
    (p,) = run_rule("model-cache", spec)
    assert p.path == "storage.modelCache.prefetch[0]" and p.got == "Qwen/Qwen3-32B"


def test_sizes_prefetch_from_its_own_architecture_and_dtype() -> None:
    entry = {"uri": "Qwen/Qwen3-32B", "architecture": "qwen3-32b", "dtype": "bf16"}
    spec = make_spec("dev", storage__modelCache__prefetch=[entry], storage__modelCache__sizeGi=60)
    (p,) = run_rule("model-cache", spec)  # 32.8e9 x 2 B = 61.1 GiB > 60
    assert p.path == "storage.modelCache.sizeGi" and "61 GiB" in p.message


def test_rejects_read_write_once_cache_with_several_replicas() -> None:
    spec = make_spec("dev", storage__modelCache__accessMode="ReadWriteOnce")
    (p,) = run_rule("model-cache", spec)
    assert p.path == "storage.modelCache.accessMode" and "2 serving replicas" in p.message


def test_rejects_cache_without_backing() -> None:
    spec = make_spec("dev", storage__modelCache__storageClass=None)
    assert [p.path for p in run_rule("model-cache", spec)] == ["storage.modelCache.storageClass"]


def test_rejects_bad_prefetch_uris() -> None:
    spec = make_spec(
        "aws-h100",
        storage__modelCache__prefetch=[
            "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
            {"source": "s3", "uri": "models/llama", "architecture": "llama-3.1-8b", "dtype": "bf16"},
        ],
    )
    assert [p.path for p in run_rule("model-cache", spec)] == ["storage.modelCache.prefetch[1].uri"]


# ---- gds-filesystem ---------------------------------------------------------------------------------------------
def test_rejects_gds_on_fsx_without_efa() -> None:
    spec = make_spec("aws-h100", gpuOperator__gds=True, storage__parallelFs__efa=False)
    (p,) = run_rule("gds-filesystem", spec)
    assert p.path == "gpuOperator.gds" and "only when EFA is enabled" in p.message


def test_accepts_gds_on_efa_fsx() -> None:
    assert run_rule("gds-filesystem", make_spec("aws-h100", gpuOperator__gds=True)) == []


def test_rejects_gds_on_tcp_nfs() -> None:
    fs = {"type": "nfs", "capacityTiB": 100, "aggregateReadGBps": 20, "csi": {"server": "nfs1", "path": "/export"}}
    (p,) = run_rule("gds-filesystem", make_spec("ncp-ib", storage__parallelFs=fs))
    assert "proto=rdma" in p.message


# ---- cold-start-budget ------------------------------------------------------------------------------------------
def test_rejects_cold_start_the_filesystem_cannot_meet() -> None:
    # Llama-3.3-70B fp8 = 70.6 GB; 3 replicas (2 prefill + 1 decode) at once = 211.8 GB over
    # 38400 GiB / 1024 x 125 MB/s/TiB = 4.7 GB/s
    spec = make_spec(
        "aws-h100",
        storage__parallelFs__throughputMBpsPerTiB=125,
        storage__parallelFs__capacityTiB=38.4,
        storage__coldStartSeconds=20,
    )
    (p,) = run_rule("cold-start-budget", spec)
    assert p.path == "storage.coldStartSeconds" and p.got == 20
    assert "per node 71 GB at 4.7 GB/s = 15s" in p.message
    assert "3 replicas at once 212 GB at 4.7 GB/s = 45s" in p.message


def test_cold_start_names_the_numbers_and_the_fixes() -> None:
    spec = make_spec("aws-h100", storage__coldStartSeconds=5)
    (p,) = run_rule("cold-start-budget", spec)
    # 24000 GiB / 1024 x 1000 MB/s/TiB = 23.4 GB/s; 3 x 70.6 GB / 23.4 = 9.0 s
    assert "'llama-70b' needs 9s to load 71 GB" in p.message
    assert "3 replicas at once 212 GB at 23.4 GB/s = 9s" in p.message
    assert "throughputMBpsPerTiB" in p.fix and "local NVMe" in p.fix and "coldStartSeconds >= 10" in p.fix


def test_per_model_override_is_checked_at_its_path() -> None:
    spec = make_spec("ncp-ib", serving__models__0__coldStartSeconds=3)
    problems = run_rule("cold-start-budget", spec)
    assert [p.path for p in problems] == ["serving.models[0].coldStartSeconds"]
    # DeepSeek-R1 fp8 = 671 GB; 2 prefill + 1 decode replicas start at once over 400 GB/s
    assert "3 replicas at once 2013 GB at 400.0 GB/s = 5s" in problems[0].message


def test_rejects_cold_start_without_throughput_figures() -> None:
    spec = make_spec("ncp-ib", storage__parallelFs__aggregateReadGBps=None)
    (p,) = run_rule("cold-start-budget", spec)
    assert p.path == "storage.parallelFs.aggregateReadGBps"
