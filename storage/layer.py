"""The `storage` layer: local NVMe volumes, the parallel filesystem, the model bucket and the shared model cache.

Returns `StorageOutputs` (components/outputs.py) for later layers:
- `model_cache_claims`   {namespace: PersistentVolumeClaim} — the RWX claim MODEL_CACHE_CLAIM in every namespace
                         that hosts models (serving.models and serving.triton namespaces, plus `model-cache`)
- `prefetch_jobs`        {checkpoint uri (HF id / NGC path / s3 URI): Job} — depends_on it before serving the model;
                         with per-namespace dynamic caches it is the Job of the first namespace serving it
- `prefetch_jobs_by_namespace` {namespace: {uri: Job}} — exact, for the per-namespace case
- `token_secrets`        {namespace: (Secret, ...)} — hf-token / ngc-api-key Secrets created in that namespace
- `kv_disk_classes`      {pool: StorageClass} — the local NVMe class the KV disk tier's ephemeral volumes use
- `model_reader_role_arn` (aws) the IRSA role of the `model-reader` and Triton S3 ServiceAccounts
- `block_storage_class`  (aws) the gp3 StorageClass of the stack's ReadWriteOnce claims (Prometheus)

Reads `ctx.compute.local_nvme_paths` (where each pool's NVMe array is mounted) for the local volumes.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import pulumi

from components import k8s as kobj
from components.catalog import CHARTS
from components.context import PlatformContext
from components.layering import StackRefs
from components.outputs import StorageOutputs
from components.spec import StackSpec
from storage import aws as aws_storage
from storage import block, cache, nvme, profiles


def build(ctx: PlatformContext, parent: pulumi.Resource) -> StorageOutputs:
    spec = ctx.spec
    for manifest in nvme.manifests(spec, ctx.compute.local_nvme_paths):
        kobj.apply(manifest, ctx.k8s_opts(parent))
    block_classes = [kobj.apply(m, ctx.k8s_opts(parent)) for m in block.manifests(spec)]

    roles: dict[str, Any] = {}
    claims_backing = _backing(ctx, parent, roles)
    base = StorageOutputs(
        kv_disk_classes=kv_disk_classes(spec),
        block_storage_class=block_classes[0] if block_classes else None,
        model_reader_role_arn=roles["reader"].arn if roles.get("reader") is not None else None,
    )
    if claims_backing is None:
        return base
    return _model_cache(ctx, parent, claims_backing, roles, base)


def from_stack(ctx: PlatformContext, parent: pulumi.Resource, refs: StackRefs) -> StorageOutputs:
    """In a later layer stack: the KV disk classes, from the spec; the model-reader role ARN, from the infra stack's
    output (on aws the role exists whenever a Triton deployment reads its own bucket through IRSA: the EKS cluster
    always has its OIDC provider); claims, prefetch Jobs and token Secrets are in the infra stack, up before it
    (components/layering.py)."""
    spec = ctx.spec
    role_arn = None
    if spec.cluster.provider == "aws" and any(t.irsa_bucket for t in spec.serving.triton):
        role_arn = refs.output("infra", f"{StorageOutputs.LAYER}.model_reader_role_arn")
    return StorageOutputs(kv_disk_classes=kv_disk_classes(spec), model_reader_role_arn=role_arn)


def kv_disk_classes(spec: StackSpec) -> dict[str, str]:
    """{pool: local NVMe StorageClass} of the pools whose KV disk tier uses it."""
    return {pool.name: nvme.storage_class_for(spec, pool) for pool in nvme.nvme_pools(spec)}


def _backing(ctx: PlatformContext, parent: pulumi.Resource, roles: dict[str, Any]) -> dict[str, Any] | None:
    """Cloud and CSI resources behind the cache; returns how to build each namespace's claim (None: no cache)."""
    spec = ctx.spec
    fs = spec.storage.parallel_fs
    cache_cfg = spec.storage.model_cache
    if spec.cluster.provider == "aws":
        key = aws_storage.kms_key(ctx, parent)
        bucket = aws_storage.model_bucket(ctx, parent, key) if spec.storage.model_bucket.create else None
        namespaces = cache.cache_namespaces(spec)
        if bucket is not None:
            roles["prefetch"] = aws_storage.irsa_role(
                ctx,
                parent,
                "model-prefetch",
                [f"{ns}:{cache.PREFETCH_SA}" for ns in namespaces],
                [bucket.arn],
                key,
                True,
            )
        # readers: the model-reader ServiceAccounts (model bucket) and Triton's own ServiceAccounts (its repositories)
        triton = [t for t in spec.serving.triton if t.irsa_bucket]
        readers = [f"{ns}:{cache.READER_SA}" for ns in namespaces] if bucket is not None else []
        readers += [f"{t.namespace}:{t.name}" for t in triton]
        buckets: list[Any] = [bucket.arn] if bucket is not None else []
        buckets += sorted({f"arn:aws:s3:::{t.irsa_bucket}" for t in triton})
        roles["reader"] = aws_storage.irsa_role(
            ctx, parent, "model-reader", readers, buckets, key if bucket is not None else None, False
        )
        roles["cache-reader"] = roles["reader"] if bucket is not None else None  # trusts model-reader SAs
        if fs.type == "fsx-lustre":
            kobj.chart(
                "aws-fsx-csi-driver",
                chart_ref=CHARTS["aws-fsx-csi-driver"],
                namespace="kube-system",
                values={"controller": {"region": ctx.region}, "node": {"tolerateAllTaints": True}},
                opts=ctx.k8s_opts(parent),
            )
            fsx = _fsx(ctx, parent, key, bucket)
            if fsx is not None:
                return {"kind": "static", "class": "", "csi": cache.fsx_csi(fsx.id, fsx.dns_name, fsx.mount_name)}
    if cache_cfg.storage_class:
        return {"kind": "dynamic", "class": cache_cfg.storage_class}
    if fs.type in profiles.PROFILES:
        name = profiles.storage_class_name(fs)
        kobj.apply(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": kobj.metadata(name, labels=cache.LABELS),
                "provisioner": profiles.PROFILES[fs.type].driver,
                "parameters": profiles.storage_class_parameters(fs),
                "mountOptions": profiles.mount_options(fs),
                "reclaimPolicy": profiles.PROFILES[fs.type].reclaim_policy,
                "volumeBindingMode": "Immediate",
                "allowVolumeExpansion": True,
            },
            ctx.k8s_opts(parent),
        )
        return {"kind": "static", "class": name, "csi": None}
    return None


def _fsx(ctx: PlatformContext, parent: pulumi.Resource, key: Any, bucket: Any) -> Any:
    spec = ctx.spec
    network = ctx.network
    vpc_id = network.vpc_id
    az = aws_storage.pool_az(spec)
    subnet = (network.subnet_ids_by_az.get(az) if az else None) or next(iter(network.private_subnet_ids), None)
    if vpc_id is None or subnet is None:
        pulumi.log.warn(
            "storage: FSx for Lustre needs the network layer's VPC and a private subnet; "
            "not created in this run, so the model cache has no claims yet",
            parent,
        )
        return None
    sg = aws_storage.fsx_security_group(ctx, parent, vpc_id)
    aws_storage.efa_clients_admit_fsx(ctx, parent, sg)
    fsx = aws_storage.lustre_filesystem(ctx, parent, subnet, sg, key)
    if bucket is not None:
        aws_storage.data_repository(ctx, parent, fsx, bucket)
    return fsx


def _model_cache(
    ctx: PlatformContext,
    parent: pulumi.Resource,
    backing: dict[str, Any],
    roles: dict[str, Any],
    base: StorageOutputs,
) -> StorageOutputs:
    spec = ctx.spec
    fs = spec.storage.parallel_fs
    claims: dict[str, Any] = {}
    for ns in cache.cache_namespaces(spec):
        volume = None
        if backing["kind"] == "static":
            csi = backing["csi"] if backing["csi"] is not None else profiles.static_volume(fs, ns)
            pv = kobj.apply(cache.static_pv(spec, ns, csi, backing["class"]), ctx.k8s_opts(parent, protect=True))
            volume = (pv, cache.pv_name(ns))
        claim = cache.claim(spec, ns, backing["class"], volume[1] if volume else None)
        deps = [volume[0]] if volume else []
        claims[ns] = kobj.apply(claim, ctx.k8s_opts(parent, depends_on=deps, protect=True, namespace=ns))

    secrets: dict[str, list[Any]] = defaultdict(list)
    for kind, namespaces in cache.token_namespaces(spec).items():
        value = ctx.secrets.get(cache.TOKEN_KEYS[kind][0])
        if value is None:
            continue  # no token configured: public checkpoints still download (secretKeyRef is optional)
        for ns in namespaces:
            secret = cache.token_secret(kind, ns, pulumi.Output.secret(value))
            secrets[ns].append(kobj.apply(secret, ctx.k8s_opts(parent, namespace=ns)))

    prefetch_role = roles.get("prefetch")
    reader_role = roles.get("cache-reader")
    accounts: dict[str, Any] = {}
    for ns in cache.cache_namespaces(spec):
        if spec.cluster.provider == "aws":
            reader = cache.service_account(cache.READER_SA, ns, reader_role.arn if reader_role else None)
            kobj.apply(reader, ctx.k8s_opts(parent, namespace=ns))

    jobs: dict[str, Any] = {}
    by_ns: dict[str, dict[str, Any]] = defaultdict(dict)
    placements = cache.prefetch_placements(spec)
    for ns in sorted({ns for _, ns in placements}):
        sa = cache.service_account(cache.PREFETCH_SA, ns, prefetch_role.arn if prefetch_role else None)
        accounts[ns] = kobj.apply(sa, ctx.k8s_opts(parent, namespace=ns))
        accounts[ns + "/script"] = kobj.apply(cache.script_configmap(ns), ctx.k8s_opts(parent, namespace=ns))
    for entry, ns in placements:
        deps = [claims[ns], accounts[ns], accounts[ns + "/script"], *secrets.get(ns, [])]
        opts = pulumi.ResourceOptions.merge(
            ctx.k8s_opts(parent, depends_on=deps, namespace=ns),
            pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="6h", update="6h")),
        )
        job = kobj.apply(cache.prefetch_job(entry, ns), opts)
        by_ns[ns][entry.uri] = job
        jobs.setdefault(entry.uri, job)
    return dataclasses.replace(
        base,
        model_cache_claims=claims,
        prefetch_jobs=jobs,
        prefetch_jobs_by_namespace=dict(by_ns),
        token_secrets={ns: tuple(found) for ns, found in secrets.items()},
    )
