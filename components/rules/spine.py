"""Rules that join layers: names resolve, catalogs agree, parallelism fits, memory fits, fabric suffices.

These are the cross-layer mistakes DESIGN.md promises to stop before anything is created.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from components.catalog import ARCHITECTURES, GPUS, NODE_TYPES
from components.rules import Problem, one_of, rule
from components.spec import StackSpec
from components.spec.serving import ModelSpec, WorkerSpec

GIB = 2**30
HOST_RAM_RESERVE_FRACTION = 0.10  # kept for the OS, kubelet, engine processes and page cache
KV_RESERVE_FRACTION = 0.10  # HBM that must stay free for KV cache and activations after weights


def _dupes(names: list[str]) -> list[str]:
    return sorted(n for n, c in Counter(names).items() if c > 1)


@rule("unique-names")
def unique_names(spec: StackSpec) -> Iterator[Problem]:
    for path, names in (
        ("gpuPools", [p.name for p in spec.gpu_pools]),
        ("serving.models", [m.name for m in spec.serving.models]),
        ("serving.triton", [t.name for t in spec.serving.triton]),
        ("scheduling.queues", [q.name for q in spec.scheduling.queues]),
    ):
        for dup in _dupes(names):
            yield Problem(path, "names must be unique", dup, "rename one of them")


@rule("pool-catalog")
def pool_catalog(spec: StackSpec) -> Iterator[Problem]:
    for i, pool in enumerate(spec.gpu_pools):
        at = f"gpuPools[{i}]"
        if pool.gpu not in GPUS:
            yield Problem(f"{at}.gpu", "unknown GPU model", pool.gpu, one_of(pool.gpu, list(GPUS)))
        nt = NODE_TYPES.get(pool.instance_type)
        if nt is None:
            yield Problem(
                f"{at}.instanceType",
                "unknown node type",
                pool.instance_type,
                one_of(pool.instance_type, list(NODE_TYPES)),
            )
            continue
        if pool.gpu in GPUS and nt.gpu != pool.gpu:
            yield Problem(
                f"{at}.gpu",
                f"does not match instance type {pool.instance_type}, which has {nt.gpus}x {nt.gpu}",
                pool.gpu,
                f"set gpu: {nt.gpu} or pick another instanceType",
            )
        if spec.cluster.provider == "aws" and nt.provider != "aws":
            yield Problem(
                f"{at}.instanceType",
                "is a bare-metal system but cluster.provider is aws",
                pool.instance_type,
                "use an EC2 instance type, or cluster.provider: existing",
            )
        if spec.cluster.provider == "existing" and not (pool.node_names or pool.node_selector):
            yield Problem(
                at,
                "a pool on an existing cluster must name its nodes",
                "neither nodeNames nor nodeSelector",
                "set nodeNames: [...] or nodeSelector: {label: value}",
            )


@rule("node-count")
def node_count(spec: StackSpec) -> Iterator[Problem]:
    for i, pool in enumerate(spec.gpu_pools):
        n = pool.nodes
        if not (n.min <= n.resolved_desired <= n.max):
            yield Problem(
                f"gpuPools[{i}].nodes",
                "needs min <= desired <= max",
                f"min {n.min}, desired {n.resolved_desired}, max {n.max}",
                "adjust the bounds",
            )
        if n.min == 0:
            reason = None
            if pool.capacity.type == "capacity-reservation":
                # (capacity-block pools start at 0 and follow their window's schedule: rule capacity-block-window)
                reason = "capacity-reservation capacity is reserved, not launched on demand by the autoscaler"
            elif pool.compute_domain:
                reason = "a DRA ComputeDomain cannot form on a pool with no nodes"
            elif spec.cluster.provider == "existing":
                reason = "an existing cluster's nodes are not created by this stack"
            if reason:
                yield Problem(
                    f"gpuPools[{i}].nodes.min", f"the pool cannot wake from zero: {reason}", 0, "set min >= 1"
                )


def _worker_paths(i: int, model: ModelSpec) -> Iterator[tuple[str, str, WorkerSpec]]:
    for role, worker in model.workers().items():
        yield f"serving.models[{i}].{role}", role, worker


@rule("model-references")
def model_references(spec: StackSpec) -> Iterator[Problem]:
    queues = {q.name for q in spec.scheduling.queues}
    for i, m in enumerate(spec.serving.models):
        at = f"serving.models[{i}]"
        if spec.pool(m.pool) is None:
            yield Problem(f"{at}.pool", "names no GPU pool", m.pool, one_of(m.pool, list(spec.pools_by_name)))
        if isinstance(m.architecture, str) and m.architecture not in ARCHITECTURES:
            yield Problem(
                f"{at}.architecture",
                "unknown architecture",
                m.architecture,
                one_of(m.architecture, list(ARCHITECTURES))
                + " or give layers/heads/kvHeads/headDim/paramsB explicitly",
            )
        if m.tenant and m.tenant not in queues:
            yield Problem(f"{at}.tenant", "names no scheduling queue", m.tenant, one_of(m.tenant, list(queues)))
        if m.sizing == "manual":
            if m.mode == "aggregated" and (m.worker is None or m.prefill or m.decode):
                yield Problem(at, "aggregated mode needs `worker` and no prefill/decode", m.mode, "set worker: {...}")
            if m.mode == "disaggregated" and (m.prefill is None or m.decode is None or m.worker):
                yield Problem(
                    at,
                    "disaggregated mode needs `prefill` and `decode` and no `worker`",
                    m.mode,
                    "set prefill: {...} and decode: {...}",
                )
        elif m.traffic is None or m.slo is None:
            yield Problem(
                f"{at}.sizing",
                "sizing auto needs `slo` and `traffic`",
                m.sizing,
                "add slo and traffic, or size manually",
            )


@rule("parallelism-fits-node")
def parallelism_fits_node(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        pool = spec.pool(m.pool)
        nt = spec.node_type(pool) if pool else None
        if pool is None or nt is None:
            continue
        for at, _role, w in _worker_paths(i, m):
            g = w.gpus_per_replica
            if g > nt.gpus and not w.multinode:
                yield Problem(
                    f"{at}.tensorParallel",
                    f"{g} GPUs per replica (tp {w.tensor_parallel} x pp {w.pipeline_parallel} x dp "
                    f"{w.data_parallel}) but pool '{pool.name}' ({pool.instance_type}) has {nt.gpus} per node",
                    w.tensor_parallel,
                    "set multinode: true or lower the parallelism",
                )
            elif w.multinode and g % nt.gpus:
                yield Problem(
                    f"{at}.tensorParallel",
                    f"a multinode replica must fill whole nodes: {g} GPUs is not a multiple of {nt.gpus}",
                    g,
                    f"use a multiple of {nt.gpus} GPUs per replica",
                )


def usable_hbm_bytes(spec: StackSpec, m: ModelSpec) -> int | None:
    pool = spec.pool(m.pool)
    gpu = GPUS.get(pool.gpu) if pool else None
    return int(gpu.hbm_bytes * m.gpu_memory_utilization) if gpu else None


def weights_per_gpu_bytes(spec: StackSpec, m: ModelSpec, w: WorkerSpec) -> int | None:
    arch = spec.architecture(m)
    if arch is None:
        return None
    # non-expert weights replicated on every DP rank, routed experts over all the replica's GPUs (as the planner)
    return int(arch.weights_bytes_per_gpu(m.weights_dtype, w.tensor_parallel, w.pipeline_parallel, w.data_parallel))


def gpu_kv_bytes_per_replica(spec: StackSpec, m: ModelSpec, w: WorkerSpec) -> int | None:
    """HBM left for the KV cache (G1) across one replica's GPUs."""
    usable, weights = usable_hbm_bytes(spec, m), weights_per_gpu_bytes(spec, m, w)
    if usable is None or weights is None:
        return None
    return max(0, usable - weights) * w.gpus_per_replica


@rule("weights-fit-hbm")
def weights_fit_hbm(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        usable = usable_hbm_bytes(spec, m)
        if usable is None:
            continue
        for at, _role, w in _worker_paths(i, m):
            weights = weights_per_gpu_bytes(spec, m, w)
            if weights is None:
                continue
            if weights + usable * KV_RESERVE_FRACTION > usable:
                yield Problem(
                    f"{at}.tensorParallel",
                    f"weights need {weights / GIB:.1f} GiB per GPU ({m.weights_dtype}, sharded over "
                    f"{w.tensor_parallel * w.pipeline_parallel} GPUs) but only "
                    f"{usable * (1 - KV_RESERVE_FRACTION) / GIB:.1f} GiB of HBM is usable after the "
                    f"{int(KV_RESERVE_FRACTION * 100)}% KV reserve",
                    w.tensor_parallel,
                    "raise tensor/pipeline parallelism, quantize (weightsDtype fp8), or use a larger GPU",
                )


@rule("rdma-for-disaggregation")
def rdma_for_disaggregation(spec: StackSpec) -> Iterator[Problem]:
    if spec.network.fabric.is_rdma:
        return
    for i, m in enumerate(spec.serving.models):
        if m.mode == "disaggregated":
            yield Problem(
                f"serving.models[{i}].mode",
                "disaggregated serving moves the KV cache between prefill and decode GPUs over NIXL; on "
                "network.fabric.type tcp time-to-first-token degrades by orders of magnitude",
                m.mode,
                "set network.fabric.type to efa, infiniband or roce, or use mode: aggregated",
            )
        for at, _role, w in _worker_paths(i, m):
            if w.multinode:
                yield Problem(
                    f"{at}.multinode",
                    "a multinode replica runs tensor/pipeline collectives across nodes and needs an RDMA fabric",
                    True,
                    "set network.fabric.type to efa, infiniband or roce",
                )


def _workers_per_node(gpus_per_node: int, w: WorkerSpec) -> int:
    return 1 if w.multinode else max(1, gpus_per_node // w.gpus_per_replica)


KV_CONNECTOR_ENGINES: dict[str, frozenset[str]] = {
    "kvbm": frozenset({"vllm", "trtllm"}),
    "lmcache": frozenset({"vllm", "sglang"}),
}


@rule("kv-cache-tiers")
def kv_cache_tiers(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        kv, at = m.kv_cache, f"serving.models[{i}].kvCache"
        if kv.connector == "none":
            if kv.cpu_gi or kv.disk_gi or kv.object_store:
                yield Problem(
                    f"{at}.connector",
                    "KV tiers below HBM need a connector",
                    kv.connector,
                    "set kvbm or lmcache",
                )
            continue
        if m.engine not in KV_CONNECTOR_ENGINES[kv.connector]:
            yield Problem(
                f"{at}.connector",
                f"{kv.connector} does not support engine {m.engine}",
                kv.connector,
                f"use it with {sorted(KV_CONNECTOR_ENGINES[kv.connector])}",
            )
        pool = spec.pool(m.pool)
        nt = spec.node_type(pool) if pool else None
        if pool is None or nt is None:
            continue
        if kv.disk_gi and kv.cpu_gi == 0:
            yield Problem(f"{at}.cpuGi", "the disk tier (G3) sits below a host-RAM tier (G2)", 0, "set cpuGi > 0")
        if kv.disk_gi and kv.disk_gi < kv.cpu_gi:
            yield Problem(
                f"{at}.diskGi",
                "tiers must grow downwards: the disk tier (G3) must be at least the host-RAM tier (G2)",
                kv.disk_gi,
                f"set diskGi >= {kv.cpu_gi}",
            )
        for _wat, role, w in _worker_paths(i, m):
            per_node = _workers_per_node(nt.gpus, w)
            g1 = gpu_kv_bytes_per_replica(spec, m, w)
            if kv.cpu_gi and g1 is not None and kv.cpu_gi * GIB < g1:
                yield Problem(
                    f"{at}.cpuGi",
                    f"the host-RAM tier (G2) is smaller than the {role} worker's GPU KV cache (G1) of "
                    f"{g1 / GIB:.0f} GiB, so it cannot hold what HBM evicts",
                    kv.cpu_gi,
                    f"set cpuGi >= {int(g1 / GIB) + 1} or drop the tier",
                )
            ram_budget = nt.memory_gib * (1 - HOST_RAM_RESERVE_FRACTION)
            if kv.cpu_gi * per_node > ram_budget:
                yield Problem(
                    f"{at}.cpuGi",
                    f"{per_node} {role} workers per node x {kv.cpu_gi} GiB exceeds the node's "
                    f"{nt.memory_gib} GiB RAM less a {int(HOST_RAM_RESERVE_FRACTION * 100)}% reserve "
                    f"({ram_budget:.0f} GiB)",
                    kv.cpu_gi,
                    f"set cpuGi <= {int(ram_budget // per_node)}",
                )
            if kv.disk_gi:
                if pool.local_nvme is None:
                    yield Problem(
                        f"{at}.diskGi",
                        f"the disk tier needs local NVMe but pool '{pool.name}' has no localNvme",
                        kv.disk_gi,
                        "set gpuPools[].localNvme or diskGi: 0",
                    )
                elif kv.disk_gi * per_node > nt.local_nvme_gib:
                    yield Problem(
                        f"{at}.diskGi",
                        f"{per_node} {role} workers per node x {kv.disk_gi} GiB exceeds the node's "
                        f"{nt.local_nvme_gib} GiB of local NVMe",
                        kv.disk_gi,
                        f"set diskGi <= {nt.local_nvme_gib // per_node}",
                    )


@rule("efa-instance")
def efa_instance(spec: StackSpec) -> Iterator[Problem]:
    fabric = spec.network.fabric
    if fabric.type != "efa":
        return
    if spec.cluster.provider != "aws":
        yield Problem("network.fabric.type", "EFA exists only on AWS", "efa", "use infiniband or roce on bare metal")
        return
    for i, pool in enumerate(spec.gpu_pools):
        nt = spec.node_type(pool)
        if nt is not None and nt.efa_interfaces == 0:
            yield Problem(
                f"gpuPools[{i}].instanceType",
                "has no EFA interfaces but network.fabric.type is efa",
                pool.instance_type,
                "use an EFA-capable instance type (p5/p5e/p5en/p6, g6e.8xlarge and larger)",
            )
        elif nt is not None and fabric.rails_per_node and fabric.rails_per_node > nt.efa_interfaces:
            yield Problem(
                "network.fabric.railsPerNode",
                f"{pool.instance_type} has only {nt.efa_interfaces} EFA interfaces",
                fabric.rails_per_node,
                f"set railsPerNode <= {nt.efa_interfaces} or leave it unset",
            )


@rule("autoscaling-fits-pool")
def autoscaling_fits_pool(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        a, at = m.autoscaling, f"serving.models[{i}].autoscaling"
        if a.min_replicas > a.max_replicas:
            yield Problem(f"{at}.minReplicas", "exceeds maxReplicas", a.min_replicas, f"set <= {a.max_replicas}")
        pool = spec.pool(m.pool)
        nt = spec.node_type(pool) if pool else None
        if a.mode == "none" or pool is None or nt is None:
            continue
        pool_gpus = pool.nodes.max * nt.gpus
        need = max((w.gpus_per_replica for w in m.workers().values()), default=0) * a.max_replicas
        if need > pool_gpus:
            yield Problem(
                f"{at}.maxReplicas",
                f"{a.max_replicas} replicas need up to {need} GPUs but pool '{pool.name}' has at most "
                f"{pool_gpus} ({pool.nodes.max} nodes x {nt.gpus})",
                a.max_replicas,
                "lower maxReplicas or raise the pool's nodes.max",
            )
