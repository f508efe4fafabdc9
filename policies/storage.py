"""Storage rules: EBS, FSx, S3 and Kubernetes secrets encrypted; S3 never public; stateful resources protected."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.registry import UNKNOWN, Resource, RuleContext, resource_rule, stack_rule
from policies.workloads import kind_of, mapping, name_of

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
PAB_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
STATEFUL_TYPES = [
    "aws:fsx/lustreFileSystem:LustreFileSystem",
    "aws:efs/fileSystem:FileSystem",
    "aws:ebs/volume:Volume",
    *BUCKET_TYPES,
    "aws:kms/key:Key",
    "aws:eks/cluster:Cluster",
    "kubernetes:core/v1:PersistentVolumeClaim",
]


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


@resource_rule(
    "ebs-encrypted",
    "EBS volumes are encrypted: launch template block devices, EBS volumes and EBS CSI StorageClasses.",
    level="mandatory",
    severity="high",
    remediation="Set ebs.encrypted='true' on every launch template block device mapping (and kms_key_id for a "
    "customer key); EBS CSI StorageClasses need parameters.encrypted: 'true'.",
)
def ebs_encrypted(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    if resource_type == "aws:ec2/launchTemplate:LaunchTemplate":
        for i, bdm in enumerate(_seq(props.get("blockDeviceMappings"))):
            ebs = bdm.get("ebs") if isinstance(bdm, Mapping) else None
            if isinstance(ebs, Mapping) and not _true(ebs.get("encrypted")) and ebs.get("encrypted") != UNKNOWN:
                yield f"blockDeviceMappings[{i}] ({bdm.get('deviceName')}) is not encrypted (ebs.encrypted)"
    elif resource_type == "aws:ebs/volume:Volume":
        if not _true(props.get("encrypted")):
            yield "EBS volume is not encrypted (encrypted: true)"
    elif kind_of(resource_type, props) == "StorageClass" and props.get("provisioner") == "ebs.csi.aws.com":
        params = mapping(props, "parameters")
        if not _true(params.get("encrypted")):
            yield f"EBS CSI StorageClass {name_of(props)!r} does not set parameters.encrypted: 'true'"


@resource_rule(
    "fsx-encrypted",
    "FSx for Lustre encrypts data in transit (no SCRATCH_1) and, if configured, at rest with a customer KMS key.",
    level="mandatory",
    severity="high",
    config={
        "requireCustomerManagedKey": {
            "type": "boolean",
            "default": False,
            "description": "Persistent file systems must name a customer-managed KMS key (kmsKeyId); FSx always "
            "encrypts at rest, with an AWS-managed key otherwise.",
        }
    },
    remediation="Use deploymentType PERSISTENT_2 (or SCRATCH_2) and set kms_key_id when a customer key is required.",
)
def fsx_encrypted(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    if resource_type != "aws:fsx/lustreFileSystem:LustreFileSystem":
        return
    deployment = str(props.get("deploymentType") or "SCRATCH_1")  # the API default
    if deployment == "SCRATCH_1":
        yield "deploymentType SCRATCH_1 does not encrypt data in transit; use PERSISTENT_2 or SCRATCH_2"
    if (
        ctx.config.get("requireCustomerManagedKey")
        and deployment.startswith("PERSISTENT")
        and not props.get("kmsKeyId")
    ):
        yield f"{deployment} file system has no kmsKeyId (customer-managed key required by policy config)"


@resource_rule(
    "eks-secrets-encrypted",
    "EKS envelope-encrypts Kubernetes secrets with a KMS key (encryptionConfig resources: [secrets]).",
    level="mandatory",
    severity="high",
    remediation="Set encryption_config=ClusterEncryptionConfigArgs(resources=['secrets'], provider=...(key_arn=...)) "
    "with a KMS key of the stack.",
)
def eks_secrets_encrypted(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    if resource_type != "aws:eks/cluster:Cluster":
        return
    enc = props.get("encryptionConfig")
    if isinstance(enc, Sequence) and not isinstance(enc, str):  # pre-v6 providers took a list
        enc = enc[0] if enc else None
    if not isinstance(enc, Mapping):
        yield "no encryptionConfig: Kubernetes secrets are not envelope-encrypted with a KMS key you control"
        return
    if "secrets" not in [str(r) for r in _seq(enc.get("resources"))]:
        yield "encryptionConfig.resources does not include 'secrets'"
    provider = mapping(enc, "provider")
    if not provider.get("keyArn"):
        yield "encryptionConfig.provider.keyArn is empty"


def _bucket_ids(r: Resource) -> set[str]:
    return {str(v) for v in (r.props.get("bucket"), r.props.get("id"), r.name) if v and v != UNKNOWN}


def _companions(bucket: Resource, resources: Sequence[Resource], types: Sequence[str]) -> list[Resource]:
    """Resources of `types` configuring this bucket: they reference it (dependency) or name it in `bucket`."""
    ids = _bucket_ids(bucket)
    return [
        r
        for r in resources
        if r.type in types and ((bucket.urn and bucket.urn in r.depends_on) or str(r.props.get("bucket")) in ids)
    ]


def _inline_sse(props: Mapping[str, Any]) -> bool:
    return bool(props.get("serverSideEncryptionConfiguration") or _seq(props.get("serverSideEncryptionConfigurations")))


@stack_rule(
    "s3-encrypted",
    "Every S3 bucket has an explicit default-encryption configuration (SSE-S3 or SSE-KMS).",
    level="mandatory",
    severity="high",
    remediation="Add aws.s3.BucketServerSideEncryptionConfiguration for the bucket (sse_algorithm aws:kms with the "
    "stack's key, or AES256).",
)
def s3_encrypted(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    for b in resources:
        if b.type not in BUCKET_TYPES or _inline_sse(b.props):
            continue
        configs = _companions(b, resources, SSE_TYPES)
        rules = [rule for c in configs for rule in _seq(c.props.get("rules")) if isinstance(rule, Mapping)]
        if not any(rule.get("applyServerSideEncryptionByDefault") for rule in rules):
            yield (
                b.urn or None,
                f"bucket {b.props.get('bucket') or b.name!r} has no server-side encryption configuration",
            )


@stack_rule(
    "s3-public-access-blocked",
    "Every S3 bucket has a public access block with all four settings on.",
    level="mandatory",
    severity="critical",
    remediation="Add aws.s3.BucketPublicAccessBlock(bucket=..., block_public_acls=True, block_public_policy=True, "
    "ignore_public_acls=True, restrict_public_buckets=True).",
)
def s3_public_access_blocked(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    for b in resources:
        if b.type not in BUCKET_TYPES:
            continue
        blocks = _companions(b, resources, [PAB_TYPE])
        name = b.props.get("bucket") or b.name
        if not blocks:
            yield b.urn or None, f"bucket {name!r} has no BucketPublicAccessBlock"
            continue
        off = sorted({f for pab in blocks for f in PAB_FLAGS if not _true(pab.props.get(f))})
        if off:
            yield blocks[0].urn or None, f"public access block of bucket {name!r} leaves {', '.join(off)} off"


@resource_rule(
    "stateful-protected",
    "Stateful resources (filesystems, buckets, volumes, KMS keys, the EKS cluster, PVCs) are protected from deletion.",
    level="mandatory",
    severity="high",
    config={
        "types": {
            "type": "array",
            "items": {"type": "string"},
            "default": STATEFUL_TYPES,
            "description": "Pulumi type tokens that hold data and must be created with protect=True.",
        }
    },
    remediation="Create it with opts protect=True (ctx.aws_opts(parent, protect=True) / ctx.k8s_opts(..., "
    "protect=True)); CrossGuard sees only `protect`, so retainOnDelete alone does not satisfy this rule.",
)
def stateful_protected(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    if resource_type in ctx.config.get("types", []) and not ctx.protect:
        yield f"{resource_type.rsplit(':', 1)[-1]} {ctx.name or name_of(props)!r} holds data but is not protected"
