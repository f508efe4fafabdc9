"""`inference-ra:storage` — local NVMe, the parallel filesystem, the model bucket and the model cache."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from components.spec.base import SpecModel, key_or_object

ParallelFsType = Literal["none", "fsx-lustre", "lustre", "weka", "vast", "gpfs", "nfs"]


class LocalNvmeStorage(SpecModel):
    storage_class: str = Field("local-nvme", description="StorageClass of the local NVMe volumes.")
    provisioner: Literal["local-static"] = Field(
        "local-static", description="sig-storage local static provisioner over the RAID0 mount."
    )


class CsiSpec(SpecModel):
    server: str | None = Field(None, description="Filesystem server / MGS / VIP (lustre, nfs, vast, weka).")
    path: str | None = Field(None, description="Export, filesystem name or share path.")
    mount_options: list[str] = Field(default_factory=list, description="Extra mount options.")
    secret_name: str | None = Field(None, description="CSI secret (e.g. WEKA or VAST API credentials).")


class ParallelFsSpec(SpecModel):
    type: ParallelFsType = Field("none", description="Parallel filesystem for the shared model cache.")
    capacity_ti_b: float = Field(
        12.0, gt=0, alias="capacityTiB", description="Capacity in TiB (FSx for Lustre: multiple of 2.4 TiB)."
    )
    throughput_m_bps_per_ti_b: int = Field(
        250,
        alias="throughputMBpsPerTiB",
        description="Throughput per TiB (FSx PERSISTENT_2: 125, 250, 500 or 1000); the read budget for cold start.",
    )
    aggregate_read_g_bps: float | None = Field(
        None,
        gt=0,
        alias="aggregateReadGBps",
        description="Aggregate read throughput of an on-prem filesystem in GB/s (for the cold-start budget).",
    )
    efa: bool = Field(False, description="EFA-enabled FSx for Lustre (PERSISTENT_2, supported instance types).")
    csi: CsiSpec = Field(default_factory=CsiSpec, description="CSI parameters for on-prem filesystems.")


class PrefetchSpec(SpecModel):
    source: Literal["hf", "ngc", "s3"] = Field("hf", description="Where the weights come from.")
    uri: str = Field(description="HF repo id, NGC model path, or s3://bucket/prefix.")
    revision: str = Field("main", description="HF revision or NGC version.")
    architecture: str | None = Field(
        None, description="Architecture catalog key used to size the cache (default: from serving.models)."
    )
    dtype: str | None = Field(None, description="Weights dtype of this checkpoint (sizes the cache).")


PrefetchRef = Annotated[
    Annotated[str, Tag("<key>")] | Annotated[PrefetchSpec, Tag("<object>")], Discriminator(key_or_object)
]


class ModelCacheSpec(SpecModel):
    size_gi: int = Field(1024, ge=1, description="Model cache PVC size in GiB.")
    storage_class: str | None = Field(
        None, description="StorageClass of the cache PVC (default: the parallel filesystem's)."
    )
    access_mode: Literal["ReadWriteMany", "ReadWriteOnce"] = Field(
        "ReadWriteMany", description="RWX is required when more than one replica reads the cache."
    )
    prefetch: list[PrefetchRef] = Field(
        default_factory=list, description="Models downloaded into the cache before serving starts."
    )


class ModelBucketSpec(SpecModel):
    create: bool = Field(True, description="Create a versioned, encrypted S3 bucket for model weights (aws).")
    name: str | None = Field(None, description="Bucket name (default: <cluster>-models-<account>).")


class StorageSpec(SpecModel):
    local_nvme: LocalNvmeStorage = Field(default_factory=LocalNvmeStorage, description="Local NVMe volumes.")
    parallel_fs: ParallelFsSpec = Field(default_factory=ParallelFsSpec, description="Parallel filesystem.")
    model_bucket: ModelBucketSpec = Field(default_factory=ModelBucketSpec, description="S3 model bucket (aws).")
    model_cache: ModelCacheSpec = Field(default_factory=ModelCacheSpec, description="Shared model cache.")
    cold_start_seconds: int | None = Field(
        None,
        ge=1,
        description="Target seconds to load weights on scale-out; checked against read throughput.",
    )
