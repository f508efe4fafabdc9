"""Serving rules: what a Dynamo graph needs from the rest of the stack that the field types cannot say.

Cross-layer sizing rules (parallelism, HBM, RDMA, KV tiers, autoscaling bounds) live in rules/spine.py. Rules that
depend on the Dynamo release read its catalog entry (components/catalog/dynamo.py); `dynamo-version` reports an
unknown release, and the others then skip, so an unknown version yields exactly one problem.
"""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog.dynamo import DYNAMO_RELEASES, DynamoRelease, known_versions
from components.catalog.nodes import nics_for_gpus
from components.rules import Problem, rule
from components.spec import GpuPoolSpec, StackSpec
from components.spec.serving import ModelSpec, WorkerSpec

EFA_RESOURCE = "vpc.amazonaws.com/efa"  # what the aws-efa-k8s-device-plugin advertises (networking/profile.py)
GPU_RESOURCE = "nvidia.com/gpu"
# Engine arguments that stop an engine from publishing KV events even with a publisher configured.
NO_KV_EVENTS_ARGS: dict[str, tuple[str, ...]] = {
    # dynamo/vllm/args.py:395: no kv_events_config without prefix caching
    "vllm": ("--no-enable-prefix-caching",),
    # SGLang emits KV events from its radix cache (sglang server_args `disable_radix_cache`)
    "sglang": ("--disable-radix-cache",),
    "trtllm": ("--no-publish-kv-events",),
}


def _release(spec: StackSpec) -> DynamoRelease | None:
    return DYNAMO_RELEASES.get(spec.serving.dynamo.version)


def _workers(i: int, m: ModelSpec) -> Iterator[tuple[str, str, WorkerSpec]]:
    for role, w in m.workers().items():
        yield f"serving.models[{i}].{role}", role, w


@rule("dynamo-version")
def dynamo_version(spec: StackSpec) -> Iterator[Problem]:
    """Images, chart, CRD version and engine flags come from the release catalog: an unlisted release has none."""
    version = spec.serving.dynamo.version
    if version not in DYNAMO_RELEASES:
        yield Problem(
            "serving.dynamo.version",
            "is not a Dynamo release in the catalog (components/catalog/dynamo.py)",
            version,
            f"use one of {known_versions()}",
        )


@rule("kv-router-events")
def kv_router_events(spec: StackSpec) -> Iterator[Problem]:
    """The KV router scores prefix overlap from the workers' KV events: with `router: kv` every engine that the
    router tracks must be able to publish them (per release), and no extra argument may switch them off."""
    rel = _release(spec)
    if rel is None:
        return
    for i, m in enumerate(spec.serving.models):
        if m.router != "kv":
            continue
        if m.engine not in rel.kv_events:
            yield Problem(
                f"serving.models[{i}].router",
                f"the KV router needs KV events, which {m.engine} workers of Dynamo {rel.version} do not publish",
                m.router,
                "use router round-robin or random, or an engine/release that publishes KV events",
            )
            continue
        for at, role, w in _workers(i, m):
            if role == "decode":  # disaggregated decode is routed by load (its KV arrives over NIXL)
                continue
            off = [a for a in w.extra_args if a in NO_KV_EVENTS_ARGS[m.engine]]
            if off:
                yield Problem(
                    f"{at}.extraArgs",
                    f"{off[0]} stops {m.engine} from publishing the KV events the KV router scores prefix overlap from",
                    off[0],
                    "drop it, or use router round-robin",
                )


@rule("sglang-bootstrap-port")
def sglang_bootstrap_port(spec: StackSpec) -> Iterator[Problem]:
    """Only SGLang's disaggregated workers read --disaggregation-bootstrap-port."""
    for i, m in enumerate(spec.serving.models):
        if m.disaggregation_bootstrap_port is None:
            continue
        if m.engine != "sglang" or m.mode != "disaggregated":
            yield Problem(
                f"serving.models[{i}].disaggregationBootstrapPort",
                "only disaggregated SGLang workers run a KV bootstrap server",
                m.disaggregation_bootstrap_port,
                "remove it",
            )


def uses_efa_fabric(spec: StackSpec, m: ModelSpec) -> bool:
    """Whether a model's workers move KV or NCCL traffic over EFA (disaggregated, or a replica across nodes)."""
    pool = spec.pool(m.pool)
    nt = spec.node_type(pool) if pool else None
    if spec.network.fabric.type != "efa" or nt is None or nt.efa_interfaces == 0:
        return False
    multinode = any(w.multinode and w.gpus_per_replica > nt.gpus for w in m.workers().values())
    return m.mode == "disaggregated" or multinode


@rule("efa-runtime-image")
def efa_runtime_image(spec: StackSpec) -> Iterator[Problem]:
    """On EFA, workers that use the fabric run an EFA-enabled runtime (libfabric, aws-ofi-nccl); the release may not
    publish one for every engine."""
    rel = _release(spec)
    if rel is None:
        return
    for i, m in enumerate(spec.serving.models):
        key = f"{m.engine}-efa"
        if uses_efa_fabric(spec, m) and key not in spec.serving.dynamo.images and m.engine not in rel.efa_images:
            yield Problem(
                f"serving.models[{i}].engine",
                f"EFA workers need an EFA-enabled runtime image and Dynamo {rel.version} publishes none for "
                f"{m.engine} (published: {sorted(rel.efa_images) or 'none'})",
                m.engine,
                f"build one (Dynamo EFA guide: container/render.py --make-efa) and set serving.dynamo.images.{key}",
            )


def pod_extended_resources(spec: StackSpec, pool: GpuPoolSpec, gpus: int) -> dict[str, int]:
    """Extended resources a worker pod with `gpus` GPUs requests on `pool` (GPUs and the EFA interfaces of its NIC
    groups; the same catalog arithmetic networking/profile.py renders). RDMA shared-device rails and SR-IOV VFs
    are not listed: the shared plugin lets 63 pods share a rail, and the VF count is host configuration."""
    out = {GPU_RESOURCE: gpus}
    nt = spec.node_type(pool)
    if spec.network.fabric.type == "efa" and nt is not None and nt.efa_interfaces:
        out[EFA_RESOURCE] = nics_for_gpus(nt, gpus, spec.rails_per_node(pool))
    return out


def node_capacity(spec: StackSpec, pool: GpuPoolSpec) -> dict[str, int]:
    """What a node of `pool` advertises of the resources worker pods request (hugepages: none pre-allocated)."""
    nt = spec.node_type(pool)
    if nt is None:
        return {}
    return {GPU_RESOURCE: nt.gpus, EFA_RESOURCE: nt.efa_interfaces, "hugepages-2Mi": 0, "hugepages-1Gi": 0}


@rule("pods-fit-nodes")
def pods_fit_nodes(spec: StackSpec) -> Iterator[Problem]:
    """A pool's worker pods fit its nodes by every extended resource they request, not only GPUs: one pod must fit
    a node, and as many pods as the node's GPUs allow must fit by every other resource (else GPUs stay idle)."""
    for i, m in enumerate(spec.serving.models):
        pool = spec.pool(m.pool)
        nt = spec.node_type(pool) if pool else None
        if pool is None or nt is None:
            continue
        capacity = node_capacity(spec, pool)
        for at, _role, w in _workers(i, m):
            nodes = max(1, -(-w.gpus_per_replica // nt.gpus)) if w.multinode else 1
            gpus = w.gpus_per_replica // nodes
            if gpus > nt.gpus or gpus == 0:
                continue  # parallelism-fits-node reports it
            by_gpu = nt.gpus // gpus
            for resource, want in sorted(pod_extended_resources(spec, pool, gpus).items()):
                have = capacity.get(resource, 0)
                if want > have:
                    yield Problem(
                        f"{at}.tensorParallel",
                        f"a {gpus}-GPU pod requests {want} {resource} but a {pool.instance_type} node has {have}",
                        want,
                        "change the GPUs per pod or the pool's instance type",
                    )
                elif have // want < by_gpu:
                    idle = nt.gpus - (have // want) * gpus
                    yield Problem(
                        f"{at}.tensorParallel",
                        f"a {gpus}-GPU pod requests {want} of a {pool.instance_type} node's {have} {resource}: "
                        f"{have // want} such pods fit a node, leaving {idle} of its {nt.gpus} GPUs idle",
                        gpus,
                        f"use at least {-(-nt.gpus * want // have) if have else nt.gpus} GPUs per pod",
                    )


@rule("graph-topology")
def graph_topology(spec: StackSpec) -> Iterator[Problem]:
    """scheduling.topologyAware packs each multinode replica into one topology domain through the graph's
    topologyConstraint, which names Grove's ClusterTopologyBinding: it exists only with Grove and network.topology."""
    if not spec.scheduling.topology_aware:
        return
    multinode = [(i, role) for i, m in enumerate(spec.serving.models) for role, w in m.workers().items() if w.multinode]
    if not multinode:
        return
    if not (spec.serving.dynamo.grove and spec.network.topology.enabled):
        i, role = multinode[0]
        yield Problem(
            "scheduling.topologyAware",
            "packing multinode replicas needs Grove and its ClusterTopologyBinding (network.topology)",
            f"grove {spec.serving.dynamo.grove}, network.topology.enabled {spec.network.topology.enabled} "
            f"(serving.models[{i}].{role} is multinode)",
            "set serving.dynamo.grove and network.topology.enabled, or topologyAware: false",
        )


@rule("gateway-benchmark")
def gateway_benchmark(spec: StackSpec) -> Iterator[Problem]:
    """With the Inference Gateway a graph has no standalone frontend (workers carry frontend sidecars behind the
    operator's InferencePool), so the benchmark Job's target `<graph>-frontend` does not exist."""
    if not spec.serving.routing.inference_gateway:
        return
    for i, m in enumerate(spec.serving.models):
        if m.benchmark.enabled:
            yield Problem(
                f"serving.models[{i}].benchmark.enabled",
                "the benchmark targets the graph's frontend Service, which an Inference Gateway graph does not have",
                True,
                "benchmark through your Gateway's HTTPRoute instead, or disable serving.routing.inferenceGateway",
            )


@rule("planner-sla-needs")
def planner_sla_needs(spec: StackSpec) -> Iterator[Problem]:
    """The SLA Planner scales on TTFT/ITL targets it reads from Prometheus: both must exist."""
    obs = spec.observability
    has_prometheus = obs.enabled and (obs.prometheus.mode == "deploy" or bool(obs.prometheus.url))
    for i, m in enumerate(spec.serving.models):
        if m.autoscaling.mode != "planner-sla":
            continue
        at = f"serving.models[{i}]"
        if m.slo is None:
            yield Problem(
                f"{at}.slo", "autoscaling planner-sla scales to latency targets", None, "set slo: {ttftMs, itlMs}"
            )
        if not has_prometheus:
            got = "observability disabled" if not obs.enabled else "prometheus mode external without url"
            yield Problem(
                f"{at}.autoscaling.mode",
                "the Dynamo Planner reads frontend latency metrics from Prometheus",
                got,
                "enable observability (prometheus mode deploy) or set observability.prometheus.url",
            )


@rule("multinode-orchestrator")
def multinode_orchestrator(spec: StackSpec) -> Iterator[Problem]:
    """The operator renders multinode components as Grove PodCliqueSets or, without Grove, as LeaderWorkerSets;
    this stack installs Grove, not LWS."""
    if spec.serving.dynamo.grove:
        return
    for i, m in enumerate(spec.serving.models):
        for role, w in m.workers().items():
            if w.multinode:
                yield Problem(
                    f"serving.models[{i}].{role}.multinode",
                    "multinode workers need Grove (gang scheduling of a replica's pods)",
                    True,
                    "set serving.dynamo.grove: true",
                )


@rule("kv-object-store")
def kv_object_store(spec: StackSpec) -> Iterator[Problem]:
    rel = _release(spec)
    for i, m in enumerate(spec.serving.models):
        kv, at = m.kv_cache, f"serving.models[{i}].kvCache.objectStore"
        if not kv.object_store:
            continue
        if rel is not None and not rel.kvbm_object_tier:
            yield Problem(
                at,
                f"KVBM of Dynamo {rel.version} has no object-store (G4) tier: it reads no object-store setting",
                kv.object_store,
                "drop objectStore (G2 cpuGi and G3 diskGi remain)",
            )
            continue
        if not kv.object_store.startswith("s3://") or len(kv.object_store) <= len("s3://"):
            yield Problem(at, "the G4 object tier is an S3 bucket", kv.object_store, "use s3://bucket[/prefix]")
        if kv.connector == "lmcache":
            yield Problem(
                at,
                "the object tier is wired for KVBM object offload only",
                kv.connector,
                "use connector kvbm, or drop objectStore",
            )


@rule("expert-parallel-needs-moe")
def expert_parallel_needs_moe(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        arch = spec.architecture(m)
        if arch is None or arch.is_moe:
            continue
        for role, w in m.workers().items():
            if w.expert_parallel:
                yield Problem(
                    f"serving.models[{i}].{role}.expertParallel",
                    f"expert parallelism shards MoE experts but {arch.key} is a dense model",
                    True,
                    "set expertParallel: false",
                )
