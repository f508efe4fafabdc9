"""Storage rules: the parallel filesystem is buildable, the model cache holds what is prefetched and can be shared,
GPUDirect Storage has a filesystem that supports it, and weights load within the cold-start budget.

The KV disk tier's need for local NVMe is checked in rules/spine.py (kv-cache-tiers), not here.
"""

from __future__ import annotations

from collections.abc import Iterator

from components.rules import Problem, rule
from components.spec import StackSpec
from storage.budget import GIB, aggregate_read_gbps, cold_start, fsx_storage_capacity_gib, prefetch_items
from storage.profiles import CSI_TYPES, PROFILES, supports_gds

FSX_THROUGHPUTS = (125, 250, 500, 1000)
# EFA-enabled PERSISTENT_2 capacity steps by throughput tier, GiB (FSx for Lustre user guide, storage capacity).
FSX_EFA_STEP_GIB = {125: 38400, 250: 19200, 500: 9600, 1000: 4800}
_CSI_FIELD = {"server": "server", "path": "path", "secretName": "secret_name", "volumeHandle": "volume_handle"}


@rule("parallel-fs")
def parallel_fs(spec: StackSpec) -> Iterator[Problem]:
    fs, at = spec.storage.parallel_fs, "storage.parallelFs"
    if fs.efa and fs.type != "fsx-lustre":
        yield Problem(f"{at}.efa", "EFA applies to FSx for Lustre only", True, "set type: fsx-lustre or efa: false")
    if fs.type == "fsx-lustre":
        if spec.cluster.provider != "aws":
            yield Problem(
                f"{at}.type",
                "FSx for Lustre exists only on aws",
                fs.type,
                f"use one of {list(CSI_TYPES)} with csi settings on an existing cluster",
            )
        if fs.throughput_m_bps_per_ti_b not in FSX_THROUGHPUTS:
            yield Problem(
                f"{at}.throughputMBpsPerTiB",
                "is not a PERSISTENT_2 SSD throughput tier",
                fs.throughput_m_bps_per_ti_b,
                f"use one of {list(FSX_THROUGHPUTS)}",
            )
        gib = fsx_storage_capacity_gib(fs.capacity_ti_b)
        step = FSX_EFA_STEP_GIB.get(fs.throughput_m_bps_per_ti_b, 4800) if fs.efa else 2400
        if fs.efa and gib % step:
            yield Problem(
                f"{at}.capacityTiB",
                f"an EFA-enabled file system at {fs.throughput_m_bps_per_ti_b} MB/s/TiB grows in steps of "
                f"{step / 1000:g} TiB",
                fs.capacity_ti_b,
                f"use a multiple of {step / 1000:g}",
            )
        elif not fs.efa and gib != 1200 and gib % step:
            yield Problem(
                f"{at}.capacityTiB",
                "PERSISTENT_2 SSD capacity is 1.2 TiB or a multiple of 2.4 TiB",
                fs.capacity_ti_b,
                "use 1.2, 2.4, 4.8, 7.2, ...",
            )
    profile = PROFILES.get(fs.type)
    if profile is not None:
        for need in profile.needs:
            if not getattr(fs.csi, _CSI_FIELD[need]):
                yield Problem(
                    f"{at}.csi.{need}",
                    f"the {profile.vendor} profile ({profile.driver}) needs it",
                    None,
                    "see docs/storage.md for the vendor's value",
                )


@rule("model-cache")
def model_cache(spec: StackSpec) -> Iterator[Problem]:
    cache, at = spec.storage.model_cache, "storage.modelCache"
    uses_cache = bool(spec.serving.models or spec.serving.triton or cache.prefetch)
    if uses_cache and spec.storage.parallel_fs.type == "none" and not cache.storage_class:
        yield Problem(
            f"{at}.storageClass",
            "the model cache needs a parallel filesystem or a ReadWriteMany StorageClass",
            None,
            "set storage.parallelFs, or modelCache.storageClass to an RWX class of the cluster",
        )
    readers = sum(w.replicas for m in spec.serving.models for w in m.workers().values())
    readers += sum(t.replicas for t in spec.serving.triton)
    if cache.access_mode == "ReadWriteOnce" and (readers > 1 or cache.prefetch):
        yield Problem(
            f"{at}.accessMode",
            f"{readers} serving replicas and the prefetch Jobs mount the cache at once, on different nodes",
            cache.access_mode,
            "use ReadWriteMany",
        )
    total, unsized = 0, []
    for item in prefetch_items(spec):
        size = item.weights_bytes
        if size is None:
            unsized.append(item)
            continue
        total += size
    for item in unsized:
        yield Problem(
            f"{at}.prefetch[{item.index}]",
            "cannot size this checkpoint: no serving model uses it and it names no architecture/dtype",
            item.uri,
            "give {uri, architecture, dtype} or serve it from serving.models",
        )
    if total > cache.size_gi * GIB:
        sizes = ", ".join(
            f"{i.uri} {i.weights_bytes / GIB:.0f} GiB" for i in prefetch_items(spec) if i.weights_bytes is not None
        )
        yield Problem(
            f"{at}.sizeGi",
            f"the prefetched checkpoints need {total / GIB:.0f} GiB ({sizes})",
            cache.size_gi,
            f"set sizeGi >= {int(total / GIB) + 1} or prefetch fewer models",
        )
    fs = spec.storage.parallel_fs
    if fs.type != "none" and not cache.storage_class and cache.size_gi > fs.capacity_ti_b * 1024:
        yield Problem(
            f"{at}.sizeGi",
            f"exceeds the parallel filesystem's {fs.capacity_ti_b:g} TiB",
            cache.size_gi,
            "raise storage.parallelFs.capacityTiB or lower sizeGi",
        )
    for i, ref in enumerate(cache.prefetch):
        uri = ref if isinstance(ref, str) else ref.uri
        source = "hf" if isinstance(ref, str) else ref.source
        if source == "s3" and not uri.startswith("s3://"):
            yield Problem(f"{at}.prefetch[{i}].uri", "an s3 source needs an s3:// URI", uri, "use s3://bucket/prefix")
        if source in ("hf", "ngc") and (uri.startswith("s3://") or uri.count("/") < 1):
            yield Problem(
                f"{at}.prefetch[{i}].uri",
                f"a {source} source needs a repository id like org/model",
                uri,
                "use org/model (hf) or org[/team]/model (ngc), or source: s3",
            )


@rule("gds-filesystem")
def gds_filesystem(spec: StackSpec) -> Iterator[Problem]:
    fs = spec.storage.parallel_fs
    if spec.gpu_operator.gds and not supports_gds(fs):
        why = {
            "none": "there is no parallel filesystem",
            "nfs": "NFS supports GDS only over RDMA (mount option proto=rdma)",
            "fsx-lustre": "FSx for Lustre supports GDS only when EFA is enabled",
        }.get(fs.type, f"{fs.type} has no GDS support")
        yield Problem(
            "gpuOperator.gds",
            f"GPUDirect Storage needs a GDS-capable filesystem: {why}",
            True,
            "set gds: false, or use a GDS-capable storage.parallelFs",
        )


@rule("cold-start-budget")
def cold_start_budget(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        at = f"serving.models[{i}].coldStartSeconds" if m.cold_start_seconds else "storage.coldStartSeconds"
        target = m.cold_start_seconds or spec.storage.cold_start_seconds
        if target is None:
            continue
        if aggregate_read_gbps(spec) is None:
            fs = spec.storage.parallel_fs
            yield Problem(
                "storage.parallelFs.aggregateReadGBps" if fs.type != "none" else "storage.parallelFs.type",
                f"cannot check the {target}s cold-start target of '{m.name}' without the filesystem's read throughput",
                None,
                "set aggregateReadGBps of the parallel filesystem, or drop coldStartSeconds",
            )
            return
        est = cold_start(spec, m)
        if est is None or est.ok:
            continue
        fix = (
            "raise storage.parallelFs.throughputMBpsPerTiB or capacityTiB (aggregate), enable efa (per node)"
            if spec.storage.parallel_fs.type == "fsx-lustre"
            else "raise the filesystem's aggregateReadGBps/clientReadGBps"
        )
        yield Problem(
            at,
            f"'{m.name}' needs {est.seconds:.0f}s to load {est.weights_gb:.0f} GB of weights: per node "
            f"{est.weights_gb / est.nodes_per_replica:.0f} GB at {est.per_node_gbps:.1f} GB/s = {est.per_node_s:.0f}s, "
            f"{est.replicas} replicas at once {est.weights_gb * est.replicas:.0f} GB at {est.aggregate_gbps:.1f} GB/s "
            f"= {est.aggregate_s:.0f}s",
            target,
            f"{fix}; pre-stage weights on local NVMe; or set coldStartSeconds >= {int(est.seconds) + 1}",
        )
