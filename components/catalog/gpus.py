"""GPU models. Dense (non-sparse) tensor throughput; HBM in GB as marketed (1e9 bytes) and TB/s.

Sources: NVIDIA H100 datasheet (SXM5, 2023), H200 datasheet (2024), HGX B200 / DGX B200 datasheets (2025;
per-GPU = system / 8, sparse / 2), GB200 NVL72 datasheet (2025; per-GPU = rack / 72, sparse / 2), L40S datasheet
(2023), A100 datasheet (2021); MIG profiles from the NVIDIA MIG User Guide (r580), "Supported MIG Profiles".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuModel:
    key: str
    name: str
    generation: str  # ampere | ada | hopper | blackwell — drives the compatibility matrix
    hbm_gb: float
    hbm_tbps: float
    bf16_tflops: float
    fp8_tflops: float  # 0 where the GPU has no FP8 tensor cores
    fp4_tflops: float  # 0 where the GPU has no FP4 tensor cores
    nvlink_domain: int  # GPUs in one NVLink domain (1 = PCIe only)
    nvlink_gbps: float  # bidirectional NVLink bandwidth per GPU, GB/s (0 = none)
    tdp_w: int
    mig_profiles: tuple[str, ...]
    source: str

    @property
    def hbm_bytes(self) -> int:
        return int(self.hbm_gb * 1e9)

    def tflops(self, dtype: str) -> float:
        """Dense tensor TFLOP/s for a compute dtype; falls back to the next wider type the GPU supports."""
        table = {"fp4": self.fp4_tflops, "fp8": self.fp8_tflops, "bf16": self.bf16_tflops}
        for candidate in ("fp4", "fp8", "bf16")[("fp4", "fp8", "bf16").index(dtype) :]:
            if table[candidate] > 0:
                return table[candidate]
        return self.bf16_tflops


_HOPPER_80_MIG = ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")

GPUS: dict[str, GpuModel] = {
    g.key: g
    for g in (
        GpuModel(
            "h100-sxm-80gb",
            "NVIDIA H100 SXM5 80GB",
            "hopper",
            80,
            3.35,
            989,
            1979,
            0,
            8,
            900,
            700,
            _HOPPER_80_MIG,
            "NVIDIA H100 Tensor Core GPU datasheet (SXM5)",
        ),
        GpuModel(
            "h200-sxm-141gb",
            "NVIDIA H200 SXM 141GB",
            "hopper",
            141,
            4.8,
            989,
            1979,
            0,
            8,
            900,
            700,
            ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
            "NVIDIA H200 Tensor Core GPU datasheet (SXM)",
        ),
        GpuModel(
            "b200-180gb",
            "NVIDIA B200 180GB",
            "blackwell",
            180,
            7.7,
            2250,
            4500,
            9000,
            8,
            1800,
            1000,
            ("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb"),
            "NVIDIA HGX B200 datasheet (per GPU = system / 8; dense = sparse / 2)",
        ),
        GpuModel(
            "gb200",
            "NVIDIA GB200 (Blackwell GPU in NVL72)",
            "blackwell",
            186,
            8.0,
            2500,
            5000,
            10000,
            72,
            1800,
            1200,
            ("1g.23gb", "1g.47gb", "2g.47gb", "3g.93gb", "4g.93gb", "7g.186gb"),
            "NVIDIA GB200 NVL72 datasheet (per GPU = rack / 72; dense = sparse / 2)",
        ),
        GpuModel(
            "l40s-48gb",
            "NVIDIA L40S 48GB",
            "ada",
            48,
            0.864,
            362,
            733,
            0,
            1,
            0,
            350,
            (),
            "NVIDIA L40S datasheet (dense = sparse / 2); no MIG support",
        ),
        GpuModel(
            "a100-sxm-80gb",
            "NVIDIA A100 SXM4 80GB",
            "ampere",
            80,
            2.039,
            312,
            0,
            0,
            8,
            600,
            400,
            _HOPPER_80_MIG,
            "NVIDIA A100 Tensor Core GPU datasheet (SXM4 80GB)",
        ),
        GpuModel(
            "a100-sxm-40gb",
            "NVIDIA A100 SXM4 40GB",
            "ampere",
            40,
            1.555,
            312,
            0,
            0,
            8,
            600,
            400,
            ("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
            "NVIDIA A100 Tensor Core GPU datasheet (SXM4 40GB; the GPU of p4d.24xlarge)",
        ),
    )
}
