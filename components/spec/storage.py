"""`inference-ra:storage` — local NVMe, the parallel filesystem, the model bucket and the model cache."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from components.spec.base import SpecModel, key_or_object
from components.spec.types import DnsLabel, DnsSubdomain, RelativePath

ParallelFsType = Literal["none", "fsx-lustre", "lustre", "weka", "vast", "gpfs", "nfs"]


class LocalNvmeStorage(SpecModel):
    storage_class: DnsSubdomain = Field(
        "local-nvme",
        description="StorageClass of the local NVMe volumes (pools whose localNvme.mountPath differs from the "
        "first pool's get `<storageClass>-<pool>`).",
    )
    provisioner: Literal["local-path"] = Field(
        "local-path",
        description="Rancher local-path-provisioner: dynamic volumes (incl. generic ephemeral volumes for the "
        "KV disk tier) as directories on each pool's RAID0 mount.",
    )


class CsiSpec(SpecModel):
    server: str | None = Field(
        None, description="Filesystem server: Lustre MGS NID (e.g. 10.0.0.1@o2ib), NFS server or VAST VIP pool name."
    )
    path: str | None = Field(
        None,
        description="Lustre filesystem path (/fsname), NFS export, WEKA filesystem name or IBM Storage Scale "
        "filesystem (volBackendFs).",
    )
    mount_options: list[str] = Field(
        default_factory=list, description="Extra mount options, appended to the profile's defaults."
    )
    secret_name: DnsSubdomain | None = Field(
        None, description="CSI API secret the vendor driver needs (WEKA, VAST; created by the storage admin)."
    )
    secret_namespace: DnsLabel | None = Field(
        None, description="Namespace of secretName (default: the vendor driver's namespace)."
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description="Extra StorageClass parameters, merged over the profile's (e.g. vip_pool_name for VAST).",
    )
    sub_dir: RelativePath = Field(
        "model-cache", description="Directory of the shared model cache on the filesystem (static volumes)."
    )
    volume_handle: str | None = Field(
        None,
        description="Static volume handle of the model-cache directory as the vendor's tooling prints it; required "
        "for gpfs (cluster id and filesystem UUID) and vast, optional override elsewhere.",
    )
    volume_attributes: dict[str, str] = Field(
        default_factory=dict, description="Extra volumeAttributes of the static model-cache volumes."
    )


class ParallelFsSpec(SpecModel):
    type: ParallelFsType = Field("none", description="Parallel filesystem for the shared model cache.")
    capacity_ti_b: float = Field(
        12.0, gt=0, alias="capacityTiB", description="Capacity in TiB (FSx for Lustre: multiple of 2.4 TiB)."
    )
    throughput_m_bps_per_ti_b: int = Field(
        250,
        ge=1,
        alias="throughputMBpsPerTiB",
        description="Throughput per TiB (FSx PERSISTENT_2: 125, 250, 500 or 1000); the read budget for cold start.",
    )
    aggregate_read_g_bps: float | None = Field(
        None,
        gt=0,
        alias="aggregateReadGBps",
        description="Aggregate read throughput of an on-prem filesystem in GB/s (for the cold-start budget).",
    )
    client_read_g_bps: float | None = Field(
        None,
        gt=0,
        alias="clientReadGBps",
        description="Read throughput one node can pull from the filesystem, GB/s (default: 150 for EFA-enabled FSx, "
        "12.5 for FSx over ENA, one fabric link on bare metal).",
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
    storage_class: DnsSubdomain | None = Field(
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
    name: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="Bucket name (default: <cluster>-models-<account>); S3 bucket naming rules.",
    )


class BlockStorageSpec(SpecModel):
    storage_class: str | None = Field(
        None,
        description="StorageClass of the stack's ReadWriteOnce claims (Prometheus). aws: the class this stack "
        "creates (EBS CSI, gp3, encrypted, WaitForFirstConsumer, the cluster default), named `gp3` unless set. "
        "Existing clusters: a class of that cluster; unset, those claims name no class and the cluster's default "
        "class applies.",
    )

    def resolved_class(self, provider: str) -> str | None:
        return self.storage_class or ("gp3" if provider == "aws" else None)


class StorageSpec(SpecModel):
    block_storage: BlockStorageSpec = Field(
        default_factory=BlockStorageSpec, description="Block volumes (ReadWriteOnce claims)."
    )
    local_nvme: LocalNvmeStorage = Field(default_factory=LocalNvmeStorage, description="Local NVMe volumes.")
    parallel_fs: ParallelFsSpec = Field(default_factory=ParallelFsSpec, description="Parallel filesystem.")
    model_bucket: ModelBucketSpec = Field(default_factory=ModelBucketSpec, description="S3 model bucket (aws).")
    model_cache: ModelCacheSpec = Field(default_factory=ModelCacheSpec, description="Shared model cache.")
    cold_start_seconds: int | None = Field(
        None,
        ge=1,
        description="Target seconds to load weights on scale-out; checked against read throughput.",
    )
