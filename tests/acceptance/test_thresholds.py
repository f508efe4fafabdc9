"""Burn-in thresholds: data next to the GPU catalog, every GPU covered, each pass line a stated fraction of peak."""

from __future__ import annotations

import json

import pytest

from components.catalog import GPUS
from gpu_nodepools import burnin
from gpu_nodepools.thresholds import (
    ALLREDUCE,
    DEFAULT_FRACTIONS,
    GEMM,
    HBM,
    METRICS,
    NVLINK_LINKS,
    SMI_NAMES,
    thresholds_document,
    thresholds_for,
)


@pytest.mark.parametrize("gpu", sorted(GPUS))
def test_every_catalog_gpu_has_thresholds_and_facts(gpu: str) -> None:
    t = thresholds_for(gpu)
    assert set(t) == set(METRICS)
    for th in t.values():
        assert 0 < th.fraction < 1 and th.reason and th.peak_source
        assert th.minimum == pytest.approx(th.peak * th.fraction, abs=1e-3)
    assert SMI_NAMES[gpu] and gpu in NVLINK_LINKS


def test_h100_pass_lines() -> None:
    t = thresholds_for("h100-sxm-80gb")
    assert t[GEMM].minimum == pytest.approx(593.4)  # 0.60 x 989 dense BF16
    assert t[HBM].minimum == pytest.approx(2.512, abs=1e-3)  # 0.75 x 3.35 TB/s
    assert t[ALLREDUCE].peak == 450 and t[ALLREDUCE].minimum == 270  # 0.60 x 900/2 GB/s NVLink


def test_pcie_gpu_uses_its_override() -> None:
    t = thresholds_for("l40s-48gb")[ALLREDUCE]
    assert (t.peak, t.fraction, t.minimum) == (32.0, 0.50, 16.0)
    assert t.fraction != DEFAULT_FRACTIONS[ALLREDUCE].value


def test_rejects_unknown_gpu() -> None:
    with pytest.raises(KeyError, match="unknown GPU"):
        thresholds_for("h100-pcie")


def test_document_round_trips_through_the_burnin_loader(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(thresholds_document("h200-sxm-141gb", 8)))
    doc = burnin.load_thresholds(str(path), None)
    assert doc["expectGpus"] == 8 and doc["smiNames"] == ["NVIDIA H200"]
    assert doc["metrics"][HBM]["min"] == pytest.approx(3.6)


def test_rejects_thresholds_without_a_metric(tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = thresholds_document("h100-sxm-80gb")
    del doc["metrics"][GEMM]  # type: ignore[attr-defined]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match="gemm_bf16_tflops"):
        burnin.load_thresholds(str(path), None)
