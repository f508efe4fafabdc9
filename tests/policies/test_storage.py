"""Storage rules: EBS, FSx, S3, EKS secrets encrypted; S3 public access blocked; stateful resources protected."""

from __future__ import annotations

from tests.policies.plans import aws, k8s, urn, violations

LT = "aws:ec2/launchTemplate:LaunchTemplate"
FSX = "aws:fsx/lustreFileSystem:LustreFileSystem"
BUCKET = "aws:s3/bucketV2:BucketV2"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def _lt(encrypted: str) -> dict:
    return aws(LT, "gpu", {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": encrypted}}]})


def test_encrypted_ebs_passes() -> None:
    sc = k8s(
        "storage.k8s.io/v1", "StorageClass", "gp3", provisioner="ebs.csi.aws.com", parameters={"encrypted": "true"}
    )
    assert violations("ebs-encrypted", _lt("true"), sc, aws("aws:ebs/volume:Volume", "v", {"encrypted": True})) == []


def test_rejects_unencrypted_ebs() -> None:
    sc = k8s("storage.k8s.io/v1", "StorageClass", "gp3", provisioner="ebs.csi.aws.com", parameters={"type": "gp3"})
    found = violations("ebs-encrypted", _lt("false"), sc, aws("aws:ebs/volume:Volume", "v", {"size": 10}))
    assert found == [
        "LaunchTemplate gpu: blockDeviceMappings[0] (/dev/xvda) is not encrypted (ebs.encrypted)",
        "StorageClass gp3: EBS CSI StorageClass 'gp3' does not set parameters.encrypted: 'true'",
        "Volume v: EBS volume is not encrypted (encrypted: true)",
    ]


def test_fsx_persistent_passes() -> None:
    fs = aws(FSX, "fs", {"deploymentType": "PERSISTENT_2", "kmsKeyId": "arn:aws:kms:..."})
    assert violations("fsx-encrypted", fs, requireCustomerManagedKey=True) == []


def test_rejects_fsx_scratch_1_and_missing_customer_key() -> None:
    scratch = aws(FSX, "scratch", {"storageCapacity": 1200})  # API default SCRATCH_1
    persistent = aws(FSX, "p", {"deploymentType": "PERSISTENT_2"})
    found = violations("fsx-encrypted", scratch, persistent, requireCustomerManagedKey=True)
    assert found == [
        "LustreFileSystem p: PERSISTENT_2 file system has no kmsKeyId (customer-managed key required by policy config)",
        "LustreFileSystem scratch: deploymentType SCRATCH_1 does not encrypt data in transit; use PERSISTENT_2 or "
        "SCRATCH_2",
    ]


def _eks(enc: dict | None) -> dict:
    inputs: dict = {"vpcConfig": {"endpointPublicAccess": False}}
    if enc is not None:
        inputs["encryptionConfig"] = enc
    return aws("aws:eks/cluster:Cluster", "c", inputs, protect=True)


def test_eks_secrets_encrypted_passes() -> None:
    enc = {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-2:123456789012:key/k"}}
    assert violations("eks-secrets-encrypted", _eks(enc)) == []


def test_rejects_eks_without_secrets_encryption() -> None:
    assert violations("eks-secrets-encrypted", _eks(None)) == [
        "Cluster c: no encryptionConfig: Kubernetes secrets are not envelope-encrypted with a KMS key you control"
    ]
    assert len(violations("eks-secrets-encrypted", _eks({"resources": [], "provider": {}}))) == 2


def _bucket() -> dict:
    return aws(BUCKET, "models", {"bucket": "infer-models"}, protect=True)


def test_s3_secured_bucket_passes() -> None:
    b = _bucket()
    pab = aws(
        PAB,
        "models-pab",
        {
            "bucket": "infer-models",
            **dict.fromkeys(
                ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
            ),
        },
    )
    sse = aws(
        SSE,
        "models-sse",
        {"bucket": "[unknown]", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
        depends_on=[b["urn"]],  # matched through the dependency when the bucket id is not known
    )
    assert violations("s3-encrypted", b, pab, sse) == []
    assert violations("s3-public-access-blocked", b, pab, sse) == []


def test_rejects_unencrypted_or_public_bucket() -> None:
    b = _bucket()
    assert violations("s3-encrypted", b) == [
        "BucketV2 models: bucket 'infer-models' has no server-side encryption configuration"
    ]
    assert violations("s3-public-access-blocked", b) == [
        "BucketV2 models: bucket 'infer-models' has no BucketPublicAccessBlock"
    ]
    weak = aws(PAB, "models-pab", {"bucket": "infer-models", "blockPublicAcls": True})
    assert violations("s3-public-access-blocked", b, weak) == [
        "BucketPublicAccessBlock models-pab: public access block of bucket 'infer-models' leaves blockPublicPolicy, "
        "ignorePublicAcls, restrictPublicBuckets off"
    ]


def test_protected_stateful_resources_pass() -> None:
    pvc = k8s("v1", "PersistentVolumeClaim", "model-cache", "dynamo")
    pvc["protect"] = True
    assert violations("stateful-protected", pvc, _bucket(), aws("aws:iam/role:Role", "r", {})) == []


def test_rejects_unprotected_stateful_resources() -> None:
    pvc = k8s("v1", "PersistentVolumeClaim", "model-cache", "dynamo")
    fs = aws(FSX, "fs", {"deploymentType": "PERSISTENT_2"})
    fs["retainOnDelete"] = True  # CrossGuard cannot see retainOnDelete: protect is required
    found = violations("stateful-protected", pvc, fs)
    assert found == [
        "LustreFileSystem fs: LustreFileSystem 'fs' holds data but is not protected",
        "PersistentVolumeClaim dynamo/model-cache: PersistentVolumeClaim 'dynamo/model-cache' holds data but is not "
        "protected",
    ]
    assert urn(FSX, "fs") == fs["urn"]
