"""Issue 16 (storage side): the KV disk tier on the NVMe array, a StorageClass for every claim, the storage key
usable by FSx's S3 role, FSx <-> EFA client groups both ways, and Triton's S3 role and cache claim (typed outputs)."""

from __future__ import annotations

import json
from typing import Any

from components.loader import read_stack_file
from stacks.engine import Plan, synth
from tests.compute.conftest import one, resources, stack_mapping, synth_mapping

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SC = "kubernetes:storage.k8s.io/v1:StorageClass"


# ------------------------------------------------------------------------------- 5. KV disk on the NVMe array
def test_local_path_volumes_live_on_the_raid0_array_nodeadm_mounts(aws_plan: Plan) -> None:
    cm = one(aws_plan, "kubernetes:core/v1:ConfigMap", "kube-system/local-path-config").inputs
    config = json.loads(cm["data"]["config.json"])
    paths = config["storageClassConfigs"]["local-nvme"]["nodePathMap"][0]["paths"]
    assert paths == ["/mnt/nvme/0/local-path"]  # nodeadm: filepath.Join(mountPath, "0"); not the root volume


def test_existing_cluster_volumes_stay_at_the_mount_path() -> None:
    plan = synth(read_stack_file("dev"))
    cm = one(plan, "kubernetes:core/v1:ConfigMap", "kube-system/local-path-config").inputs
    config = json.loads(cm["data"]["config.json"])
    assert config["storageClassConfigs"]["local-nvme"]["nodePathMap"][0]["paths"] == ["/mnt/nvme/local-path"]


# ------------------------------------------------------------------------------- 6. a class for every claim
def test_gp3_storage_class_is_encrypted_late_bound_and_default(aws_plan: Plan) -> None:
    sc = one(aws_plan, SC, "gp3").inputs
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_prometheus_claim_names_the_gp3_class(aws_plan: Plan) -> None:
    chart = one(aws_plan, "kubernetes:helm.sh/v4:Chart", "kube-prometheus-stack").inputs
    vct = chart["values"]["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert vct["storageClassName"] == "gp3"


def test_every_claim_the_stack_creates_names_its_class(aws_plan: Plan) -> None:
    claims = resources(aws_plan, PVC)
    assert claims and all("storageClassName" in c.inputs["spec"] for c in claims)


def test_existing_cluster_claims_use_the_declared_block_class() -> None:
    d = stack_mapping("dev")
    d["storage"]["blockStorage"] = {"storageClass": "fast-rwo"}
    plan = synth_mapping("dev-block", d)
    chart = one(plan, "kubernetes:helm.sh/v4:Chart", "kube-prometheus-stack").inputs
    vct = chart["values"]["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert vct["storageClassName"] == "fast-rwo"
    assert "gp3" not in {r.name for r in resources(plan, SC)}  # nothing created off aws


# -------------------------------------------------------------------------- 7. FSx's S3 role and the storage key
def test_storage_key_lets_fsx_s3_role_use_it_for_the_bucket_only(aws_plan: Plan) -> None:
    key = one(aws_plan, "aws:kms/key:Key", "infer-prod-storage-key").inputs
    policy = json.loads(key["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    root = sids["AccountAdministersTheKey"]
    assert root["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"} and root["Action"] == "kms:*"
    fsx = sids["FsxS3AccessThroughS3ForTheModelBucket"]
    assert set(fsx["Action"]) == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    }
    assert fsx["Condition"]["ArnLike"]["aws:PrincipalArn"] == (
        "arn:aws:iam::123456789012:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/"
        "AWSServiceRoleForFSxS3Access_fs-*"
    )
    assert fsx["Condition"]["StringEquals"] == {
        "kms:CallerAccount": "123456789012",
        "kms:ViaService": "s3.us-east-2.amazonaws.com",
    }
    # S3 Bucket Keys are on: the encryption context is the bucket ARN, not the object ARN
    assert fsx["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::infer-prod-models-123456789012"
    }


# ------------------------------------------------------------------------ 8. FSx <-> EFA clients, both ways
def test_fsx_and_efa_client_groups_admit_each_other_both_ways(aws_plan: Plan) -> None:
    fsx = one(aws_plan, "aws:ec2/securityGroup:SecurityGroup", "infer-prod-fsx-lustre").inputs
    assert ["sg-0efa"] in [r.get("securityGroups") for r in fsx["ingress"] if r["protocol"] == "-1"]
    assert ["sg-0efa"] in [r.get("securityGroups") for r in fsx["egress"] if r["protocol"] == "-1"]
    into = one(aws_plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "infer-prod-efa-from-fsx").inputs
    out = one(aws_plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "infer-prod-efa-to-fsx").inputs
    for rule in (into, out):
        assert rule["securityGroupId"] == "sg-0efa" and rule["ipProtocol"] == "-1"
        assert rule["referencedSecurityGroupId"].startswith("sg-")


# ------------------------------------------------------------------ Triton: its S3 role and cache claim (outputs)
def _with_triton(*entries: dict[str, Any]) -> dict[str, Any]:
    d = stack_mapping("aws-h100")
    d["serving"]["triton"] = list(entries)
    return d


def test_triton_s3_repository_gets_the_model_reader_role() -> None:
    plan = synth_mapping(
        "triton-s3", _with_triton({"name": "fraud", "repository": "s3://acme-triton/models", "gpus": 0})
    )
    sa = one(plan, "kubernetes:core/v1:ServiceAccount", "triton/fraud").inputs
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == (
        "arn:aws:iam::123456789012:role/infer-prod-model-reader"
    )
    role = one(plan, "aws:iam/role:Role", "infer-prod-model-reader").inputs
    subs = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    sub = next(v for k, v in subs.items() if k.endswith(":sub"))
    assert "system:serviceaccount:triton:fraud" in sub
    policy = json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", "infer-prod-model-reader-models").inputs["policy"])
    listed = next(s["Resource"] for s in policy["Statement"] if "s3:ListBucket" in s["Action"])
    assert "arn:aws:s3:::acme-triton" in listed


def test_triton_on_the_model_cache_waits_for_its_claim() -> None:
    plan = synth_mapping("triton-cache", _with_triton({"name": "ranker", "repository": "triton/ranker", "gpus": 0}))
    claim = one(plan, PVC, "triton/model-cache")
    deploy = one(plan, "kubernetes:apps/v1:Deployment", "triton/ranker")
    assert claim.urn in deploy.depends_on
