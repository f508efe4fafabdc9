"""AWS storage: a KMS key, the model bucket, FSx for Lustre linked to it, the FSx CSI driver, and IRSA roles.

The bucket is the durable copy of the model cache (versioned, SSE-KMS, public access blocked, TLS only); FSx for
Lustre is the hot tier in the GPU pool's AZ, linked to the bucket by a data repository association that imports
lazily and exports what the prefetch Jobs write. Both survive `pulumi destroy` only deliberately: protect=True.

Reads (components/outputs.py): `ctx.network` (VPC, subnets, the EFA security group of the FSx clients) and
`ctx.cluster.eks` (the EKS OIDC provider, for IRSA). Upstream sources of each setting: docs/storage.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import PlatformContext
from components.iam import irsa_trust_policy
from components.kms import protected_key
from components.spec import StackSpec
from storage.budget import fsx_storage_capacity_gib

LUSTRE_PORTS = ((988, 988), (1018, 1023))  # LNET, and the Lustre client/server ports (FSx user guide)


def pool_az(spec: StackSpec) -> str | None:
    """AZ of the FSx file system: the first GPU pool's (EFA pools live in one AZ)."""
    pool = spec.gpu_pools[0]
    return pool.availability_zone or next(iter(spec.network.availability_zones), None)


def bucket_name(spec: StackSpec, account: str) -> str:
    return spec.storage.model_bucket.name or f"{spec.cluster.name}-models-{account}"


@dataclass
class AwsStorage:
    key: aws.kms.Key
    bucket: aws.s3.Bucket | None = None
    filesystem: aws.fsx.LustreFileSystem | None = None
    prefetch_role: aws.iam.Role | None = None
    reader_role: aws.iam.Role | None = None


FSX_S3_ROLE_PATH = "role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/AWSServiceRoleForFSxS3Access_fs-*"


def storage_key_policy(partition: str, account: str, region: str, bucket: str) -> str:
    """The storage key's policy: the account administers the key through IAM (KMS's default statement), and FSx's
    per-file-system S3 service-linked role (`AWSServiceRoleForFSxS3Access_<fs-id>`) may use it through S3 for the model
    bucket's objects, which lazy load and auto-export read and write (FSx for Lustre user guide, "Working with
    server-side encrypted Amazon S3 buckets"). The role exists only once the file system is linked, so the statement
    names it by ARN pattern (`aws:PrincipalArn`), not as a principal KMS would have to resolve when the key is created.
    With S3 Bucket Keys on, the encryption context is the bucket ARN."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersTheKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "FsxS3AccessThroughS3ForTheModelBucket",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {"aws:PrincipalArn": f"arn:{partition}:iam::{account}:{FSX_S3_ROLE_PATH}"},
                        "StringEquals": {"kms:CallerAccount": account, "kms:ViaService": f"s3.{region}.amazonaws.com"},
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"arn:{partition}:s3:::{bucket}"},
                    },
                },
            ],
        },
        sort_keys=True,
    )


def kms_key(ctx: PlatformContext, parent: pulumi.Resource) -> aws.kms.Key:
    spec = ctx.spec
    name = spec.cluster.name
    policy: pulumi.Output[str] | None = None
    if spec.storage.model_bucket.create and spec.storage.parallel_fs.type == "fsx-lustre":
        invoke = pulumi.InvokeOutputOptions(provider=ctx.aws_provider)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        region = ctx.region or ""
        policy = pulumi.Output.all(partition, account).apply(
            lambda a: storage_key_policy(a[0], a[1], region, bucket_name(spec, a[1]))
        )
    return protected_key(
        ctx,
        parent,
        f"{name}-storage-key",
        f"inference-ra {name}: model bucket and FSx for Lustre encryption",
        alias=f"{name}-storage",
        alias_resource=f"{name}-storage-key-alias",
        policy=policy,
    )


def model_bucket(ctx: PlatformContext, parent: pulumi.Resource, key: aws.kms.Key) -> aws.s3.Bucket:
    spec, name = ctx.spec, ctx.spec.cluster.name
    account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=ctx.aws_provider)).account_id
    bucket = aws.s3.Bucket(
        f"{name}-models",
        bucket=account.apply(lambda a: bucket_name(spec, a)),
        force_destroy=False,
        opts=ctx.aws_opts(parent, protect=True),
    )
    opts = ctx.aws_opts(parent)
    aws.s3.BucketOwnershipControls(
        f"{name}-models-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    aws.s3.BucketPublicAccessBlock(
        f"{name}-models-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketVersioning(
        f"{name}-models-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-models-sse",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn
                ),
                bucket_key_enabled=True,
            )
        ],
        opts=opts,
    )
    aws.s3.BucketPolicy(
        f"{name}-models-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
                sort_keys=True,
            )
        ),
        opts=opts,
    )
    return bucket


def fsx_security_group(ctx: PlatformContext, parent: pulumi.Resource, vpc_id: Any) -> aws.ec2.SecurityGroup:
    """Lustre ports from the VPC; with EFA also all traffic within the group and from the EFA clients' group."""
    spec = ctx.spec
    fs = spec.storage.parallel_fs
    cidr = spec.network.vpc_cidr
    ingress = [
        aws.ec2.SecurityGroupIngressArgs(
            protocol="tcp", from_port=lo, to_port=hi, cidr_blocks=[cidr], description=f"Lustre {lo}-{hi} from the VPC"
        )
        for lo, hi in LUSTRE_PORTS
    ]
    egress = [
        aws.ec2.SecurityGroupEgressArgs(
            protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"], description="all outbound"
        )
    ]
    if fs.efa:
        ingress.append(
            aws.ec2.SecurityGroupIngressArgs(
                protocol="-1", from_port=0, to_port=0, self=True, description="EFA: all traffic within the group"
            )
        )
        egress.append(
            aws.ec2.SecurityGroupEgressArgs(
                protocol="-1", from_port=0, to_port=0, self=True, description="EFA: all traffic within the group"
            )
        )
        clients = ctx.network.efa_security_group_id
        if clients is not None:
            ingress.append(
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    security_groups=[clients],
                    description="EFA: all traffic from the GPU nodes' EFA group",
                )
            )
            egress.append(
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    security_groups=[clients],
                    description="EFA: all traffic to the GPU nodes' EFA group",
                )
            )
    name = spec.cluster.name
    return aws.ec2.SecurityGroup(
        f"{name}-fsx-lustre",
        name=f"{name}-fsx-lustre",
        description=f"FSx for Lustre of {name}: Lustre (988, 1018-1023) from the VPC"
        + ("; EFA within the group" if fs.efa else ""),
        vpc_id=vpc_id,
        ingress=ingress,
        egress=egress,
        opts=ctx.aws_opts(parent),
    )


def efa_clients_admit_fsx(ctx: PlatformContext, parent: pulumi.Resource, fsx_sg: aws.ec2.SecurityGroup) -> None:
    """The other half of FSx over EFA: the GPU nodes' EFA group admits all traffic from, and sends all traffic to, the
    file system's group (FSx for Lustre user guide, "EFA-enabled security groups": all inbound and outbound traffic
    between the file system's group and the clients' group). Separate rules, like the EFA group's own."""
    clients = ctx.network.efa_security_group_id
    if clients is None or not ctx.spec.storage.parallel_fs.efa:
        return
    name = ctx.spec.cluster.name
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-efa-from-fsx",
        security_group_id=clients,
        ip_protocol="-1",
        referenced_security_group_id=fsx_sg.id,
        description="EFA: all inbound from the FSx for Lustre file system",
        opts=ctx.aws_opts(parent),
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-efa-to-fsx",
        security_group_id=clients,
        ip_protocol="-1",
        referenced_security_group_id=fsx_sg.id,
        description="EFA: all outbound to the FSx for Lustre file system",
        opts=ctx.aws_opts(parent),
    )


def lustre_filesystem(
    ctx: PlatformContext, parent: pulumi.Resource, subnet_id: Any, sg: aws.ec2.SecurityGroup, key: aws.kms.Key
) -> aws.fsx.LustreFileSystem:
    fs, name = ctx.spec.storage.parallel_fs, ctx.spec.cluster.name
    return aws.fsx.LustreFileSystem(
        f"{name}-model-cache",
        deployment_type="PERSISTENT_2",
        storage_type="SSD",
        storage_capacity=fsx_storage_capacity_gib(fs.capacity_ti_b),
        per_unit_storage_throughput=fs.throughput_m_bps_per_ti_b,
        file_system_type_version="2.15",
        efa_enabled=fs.efa or None,
        # EFA needs a metadata configuration; AUTOMATIC scales metadata IOPS with capacity.
        metadata_configuration=aws.fsx.LustreFileSystemMetadataConfigurationArgs(mode="AUTOMATIC"),
        data_compression_type="LZ4",
        kms_key_id=key.arn,
        subnet_ids=subnet_id,
        security_group_ids=[sg.id],
        copy_tags_to_backups=True,
        tags={"Name": f"{name}-model-cache"},
        opts=ctx.aws_opts(parent, protect=True),
    )


def data_repository(
    ctx: PlatformContext, parent: pulumi.Resource, filesystem: aws.fsx.LustreFileSystem, bucket: aws.s3.Bucket
) -> aws.fsx.DataRepositoryAssociation:
    events = ["NEW", "CHANGED", "DELETED"]
    return aws.fsx.DataRepositoryAssociation(
        f"{ctx.spec.cluster.name}-model-cache-s3",
        file_system_id=filesystem.id,
        file_system_path="/",
        data_repository_path=bucket.bucket.apply(lambda b: f"s3://{b}/"),
        batch_import_meta_data_on_create=True,
        delete_data_in_filesystem=False,
        s3=aws.fsx.DataRepositoryAssociationS3Args(
            auto_import_policy=aws.fsx.DataRepositoryAssociationS3AutoImportPolicyArgs(events=events),
            auto_export_policy=aws.fsx.DataRepositoryAssociationS3AutoExportPolicyArgs(events=events),
        ),
        opts=ctx.aws_opts(parent),
    )


def oidc(ctx: PlatformContext) -> tuple[Any, Any] | None:
    """(provider ARN, issuer host/path) of the cluster's IAM OIDC provider (the cluster layer's, on aws)."""
    eks = ctx.cluster.eks
    if eks is None:
        return None
    issuer = pulumi.Output.from_input(eks.oidc_issuer).apply(lambda i: str(i).removeprefix("https://"))
    return eks.oidc_provider_arn, issuer


def irsa_role(
    ctx: PlatformContext,
    parent: pulumi.Resource,
    role: str,
    subjects: list[str],
    bucket_arns: list[pulumi.Input[str]],
    key: aws.kms.Key | None,
    write: bool,
) -> aws.iam.Role | None:
    """A role assumable by the given service accounts (`namespace:name`) through IRSA, scoped to the buckets (and to
    the storage key, when the buckets are the stack's own)."""
    found = oidc(ctx)
    if found is None or not subjects or not bucket_arns:
        return None
    provider_arn, host = found
    name = f"{ctx.spec.cluster.name}-{role}"

    iam_role = aws.iam.Role(
        name,
        name=name,
        assume_role_policy=pulumi.Output.all(provider_arn, host).apply(
            lambda a: irsa_trust_policy(a[0], a[1], subjects)
        ),
        opts=ctx.aws_opts(parent),
    )
    actions = ["s3:GetObject", "s3:GetObjectVersion"] + (["s3:PutObject", "s3:AbortMultipartUpload"] if write else [])
    kms_actions = ["kms:Decrypt"] + (["kms:GenerateDataKey", "kms:Encrypt"] if write else [])

    def policy(args: list[str]) -> str:
        key_arn, *buckets = args
        statements: list[dict[str, Any]] = [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": sorted(buckets)},
            {"Effect": "Allow", "Action": actions, "Resource": sorted(f"{b}/*" for b in buckets)},
        ]
        if key_arn:
            statements.append({"Effect": "Allow", "Action": kms_actions, "Resource": key_arn})
        return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)

    aws.iam.RolePolicy(
        f"{name}-models",
        role=iam_role.id,
        policy=pulumi.Output.all(key.arn if key is not None else "", *bucket_arns).apply(policy),
        opts=ctx.aws_opts(parent),
    )
    return iam_role
