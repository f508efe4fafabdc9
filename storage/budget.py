"""Sizing the model cache and the cold-start budget from the catalog (pure functions; spec rules and the report use
them).

Weights bytes = catalog parameter count x bytes per dtype. Read throughput:
- aggregate: FSx for Lustre delivers `throughputMBpsPerTiB` per TiB of storage (AWS FSx for Lustre performance
  page; capacity in GiB / 1024 TiB); on-prem filesystems declare `aggregateReadGBps`.
- per node: what one client can pull. EFA-enabled FSx: up to 1,200 Gb/s per P5-class client (AWS, "FSx for Lustre
  with EFA and GPUDirect Storage"), i.e. 150 GB/s; FSx without EFA rides the primary ENA card (100 Gb/s on P5),
  12.5 GB/s; bare metal: one fabric link (`network.fabric.linkSpeedGbps` / 8). `clientReadGBps` overrides.
Load time of a model = max(per-node time, aggregate time) where every replica reads the whole checkpoint once (its
nodes share it) and all configured replicas start at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.catalog.models import DTYPE_BYTES, Architecture
from components.spec import StackSpec
from components.spec.serving import ModelSpec
from components.spec.stack import resolve_architecture
from components.spec.storage import PrefetchSpec

GIB = 2**30
EFA_FSX_CLIENT_GBPS = 150.0
ENA_FSX_CLIENT_GBPS = 12.5


def fsx_storage_capacity_gib(capacity_tib: float) -> int:
    """FSx counts storage in GiB steps of 1200/2400 ("1.2 TiB", "2.4 TiB"): capacityTiB x 1000."""
    return round(capacity_tib * 1000)


def aggregate_read_gbps(spec: StackSpec) -> float | None:
    fs = spec.storage.parallel_fs
    if fs.type == "fsx-lustre":
        return fsx_storage_capacity_gib(fs.capacity_ti_b) / 1024 * fs.throughput_m_bps_per_ti_b / 1000
    if fs.type == "none":
        return None
    return fs.aggregate_read_g_bps


def client_read_gbps(spec: StackSpec) -> float:
    fs = spec.storage.parallel_fs
    if fs.client_read_g_bps:
        return fs.client_read_g_bps
    if fs.type == "fsx-lustre":
        return EFA_FSX_CLIENT_GBPS if fs.efa else ENA_FSX_CLIENT_GBPS
    return spec.network.fabric.link_speed_gbps / 8


@dataclass(frozen=True)
class PrefetchItem:
    """One prefetched checkpoint, resolved against serving.models and the catalog."""

    index: int
    source: str
    uri: str
    revision: str
    architecture: Architecture | None
    dtype: str | None

    @property
    def weights_bytes(self) -> int | None:
        if self.architecture is None or self.dtype is None or self.dtype not in DTYPE_BYTES:
            return None
        return self.architecture.weights_bytes(self.dtype)


def prefetch_items(spec: StackSpec) -> list[PrefetchItem]:
    """Prefetch entries with architecture and dtype from the entry, else the serving model with that id."""
    out = []
    for i, ref in enumerate(spec.storage.model_cache.prefetch):
        entry = ref if isinstance(ref, PrefetchSpec) else PrefetchSpec(uri=ref)
        model = next((m for m in spec.serving.models if m.model == entry.uri), None)
        arch = resolve_architecture(entry.architecture) if entry.architecture else None
        if arch is None and model is not None:
            arch = spec.architecture(model)
        dtype = entry.dtype or (model.weights_dtype if model else None) or (arch.native_dtype if arch else None)
        out.append(PrefetchItem(i, entry.source, entry.uri, entry.revision, arch, dtype))
    return out


@dataclass(frozen=True)
class ColdStart:
    model: str
    target_s: int
    weights_gb: float
    replicas: int
    nodes_per_replica: int
    per_node_gbps: float
    aggregate_gbps: float

    @property
    def per_node_s(self) -> float:
        return self.weights_gb / self.nodes_per_replica / self.per_node_gbps

    @property
    def aggregate_s(self) -> float:
        return self.weights_gb * self.replicas / self.aggregate_gbps

    @property
    def seconds(self) -> float:
        return max(self.per_node_s, self.aggregate_s)

    @property
    def ok(self) -> bool:
        return self.seconds <= self.target_s


def cold_start(spec: StackSpec, model: ModelSpec) -> ColdStart | None:
    """The cold-start estimate of one model, or None when there is no target or nothing to measure against."""
    target = model.cold_start_seconds or spec.storage.cold_start_seconds
    arch = spec.architecture(model)
    pool = spec.pool(model.pool)
    nt = spec.node_type(pool) if pool else None
    agg = aggregate_read_gbps(spec)
    if target is None or arch is None or nt is None or agg is None:
        return None
    workers = model.workers().values()
    replicas = sum(w.replicas for w in workers)
    nodes = max((-(-w.gpus_per_replica // nt.gpus) if w.multinode else 1 for w in workers), default=1)
    return ColdStart(
        model=model.name,
        target_s=target,
        weights_gb=arch.weights_bytes(model.weights_dtype) / 1e9,
        replicas=max(replicas, 1),
        nodes_per_replica=nodes,
        per_node_gbps=min(client_read_gbps(spec), agg),
        aggregate_gbps=agg,
    )
