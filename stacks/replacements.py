"""Which changes replace or destroy stateful / capacity-bearing resources: a table per resource type.

Sources: the Terraform AWS provider schema that pulumi-aws bridges (arguments documented "Forces new resource"),
cross-checked with the AWS CloudFormation reference ("Update requires: Replacement") for EKS node groups and
clusters, FSx for Lustre, S3 and KMS; Kubernetes API immutability (PersistentVolumeClaim spec fields other than
`resources.requests` are immutable and volume shrinking is rejected; PersistentVolume sources are immutable),
which pulumi-kubernetes turns into replacements.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatefulType:
    kind: str  # what the reviewer reads: "filesystem", "bucket", ...
    replace_on: tuple[str, ...]  # input paths (dot-separated) whose change forces replacement
    source: str
    shrink_forbidden: tuple[str, ...] = ()  # numeric paths that may only grow (a decrease replaces or fails)


_TF = "Terraform AWS provider schema (ForceNew), bridged by pulumi-aws; CloudFormation 'Update requires: Replacement'"
_K8S = "Kubernetes API immutable fields; pulumi-kubernetes replaces on change"

STATEFUL_TYPES: dict[str, StatefulType] = {
    "aws:eks/cluster:Cluster": StatefulType(
        "cluster",
        (
            "name",
            "roleArn",
            "encryptionConfig",
            "kubernetesNetworkConfig",
            "bootstrapSelfManagedAddons",
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
        ),
        _TF,
    ),
    "aws:eks/nodeGroup:NodeGroup": StatefulType(
        "node group (GPU capacity)",
        (
            "amiType",
            "capacityType",
            "instanceTypes",
            "diskSize",
            "nodeRoleArn",
            "nodeGroupName",
            "nodeGroupNamePrefix",
            "subnetIds",
            "remoteAccess",
            "clusterName",
            "launchTemplate.id",
            "launchTemplate.name",
        ),
        _TF,
    ),
    "aws:fsx/lustreFileSystem:LustreFileSystem": StatefulType(
        "filesystem",
        (
            "deploymentType",
            "subnetIds",
            "securityGroupIds",
            "kmsKeyId",
            "storageType",
            "efaEnabled",
            "fileSystemTypeVersion",
            "importPath",
            "exportPath",
            "driveCacheType",
        ),
        _TF,
        shrink_forbidden=("storageCapacity",),
    ),
    "aws:s3/bucket:Bucket": StatefulType("bucket", ("bucket", "bucketPrefix", "objectLockEnabled"), _TF),
    "aws:s3/bucketV2:BucketV2": StatefulType("bucket", ("bucket", "bucketPrefix", "objectLockEnabled"), _TF),
    "aws:kms/key:Key": StatefulType("KMS key", ("customerMasterKeySpec", "keySpec", "keyUsage", "multiRegion"), _TF),
    "kubernetes:core/v1:PersistentVolumeClaim": StatefulType(
        "volume claim",
        (
            "metadata.name",
            "metadata.namespace",
            "spec.accessModes",
            "spec.storageClassName",
            "spec.volumeName",
            "spec.selector",
            "spec.dataSource",
            "spec.volumeMode",
        ),
        _K8S,
        shrink_forbidden=("spec.resources.requests.storage",),
    ),
    "kubernetes:core/v1:PersistentVolume": StatefulType(
        "volume",
        (
            "metadata.name",
            "spec.csi",
            "spec.nfs",
            "spec.hostPath",
            "spec.local",
            "spec.storageClassName",
            "spec.volumeMode",
            "spec.accessModes",
        ),
        _K8S,
        shrink_forbidden=("spec.capacity.storage",),
    ),
}
