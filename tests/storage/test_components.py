"""The storage layer on the offline engine: what aws-h100, ncp-ib and dev register, and that it validates."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from components.loader import read_stack_file
from stacks.engine import Plan, synth
from stacks.validate import Validator

UPSTREAM = Path(os.environ.get("INFERENCE_RA_CRD_DIR", "/work/shared/upstream/crds")).parent


def storage_resources(plan: Plan) -> list[Any]:
    return [r for r in plan.resources if "inference-ra:storage:Storage" in r.urn]


def of_type(res: list[Any], type_: str) -> dict[str, Any]:
    """Resources of one type by name (names are unique per type, not across types)."""
    return {r.name: r for r in res if r.type == type_}


@pytest.fixture(scope="module")
def ncp_plan() -> Plan:
    return synth(read_stack_file("ncp-ib"))


def test_aws_fsx_is_protected_persistent2_efa_and_in_the_pool_az(aws_plan: Plan) -> None:
    res = storage_resources(aws_plan)
    (fsx,) = of_type(res, "aws:fsx/lustreFileSystem:LustreFileSystem").values()
    assert fsx.protect is True
    i = fsx.inputs
    assert (i["deploymentType"], i["storageCapacity"], i["perUnitStorageThroughput"]) == ("PERSISTENT_2", 24000, 1000)
    assert i["efaEnabled"] is True and i["metadataConfiguration"] == {"mode": "AUTOMATIC"}
    assert i["subnetIds"] == "subnet-0aaa"  # us-east-2a, the h100 pool's AZ
    assert i["kmsKeyId"].startswith("arn:aws:kms:us-east-2:123456789012:key/")


def test_aws_fsx_security_group_opens_lustre_and_efa(aws_plan: Plan) -> None:
    (sg,) = of_type(storage_resources(aws_plan), "aws:ec2/securityGroup:SecurityGroup").values()
    rules = {(r["protocol"], r["fromPort"], r["toPort"]): r for r in sg.inputs["ingress"]}
    assert rules[("tcp", 988, 988)]["cidrBlocks"] == ["10.0.0.0/16"]
    assert rules[("tcp", 1018, 1023)]["cidrBlocks"] == ["10.0.0.0/16"]
    efa = [r for r in sg.inputs["ingress"] if r["protocol"] == "-1"]
    assert {bool(r.get("self")) for r in efa} == {True, False} and ["sg-0efa"] in [r.get("securityGroups") for r in efa]
    assert sg.inputs["vpcId"] == "vpc-0123456789abcdef0"


def test_aws_bucket_is_protected_versioned_kms_private(aws_plan: Plan) -> None:
    res = storage_resources(aws_plan)
    (bucket,) = of_type(res, "aws:s3/bucket:Bucket").values()
    assert bucket.protect is True and bucket.inputs["bucket"] == "infer-prod-models-123456789012"
    (ver,) = of_type(res, "aws:s3/bucketVersioning:BucketVersioning").values()
    assert ver.inputs["versioningConfiguration"]["status"] == "Enabled"
    (sse,) = of_type(
        res, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).values()
    rule = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["sseAlgorithm"] == "aws:kms" and rule["kmsMasterKeyId"].startswith("arn:aws:kms:")
    (pab,) = of_type(res, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").values()
    assert all(
        pab.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (key,) = of_type(res, "aws:kms/key:Key").values()
    assert key.protect is True and key.inputs["enableKeyRotation"] is True
    (dra,) = of_type(res, "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation").values()
    assert dra.inputs["dataRepositoryPath"] == "s3://infer-prod-models-123456789012/"


def test_aws_irsa_roles_trust_only_the_cache_service_accounts(aws_plan: Plan) -> None:
    roles = of_type(storage_resources(aws_plan), "aws:iam/role:Role")
    trust = json.loads(roles["infer-prod-model-prefetch"].inputs["assumeRolePolicy"])
    cond = trust["Statement"][0]["Condition"]["StringEquals"]
    assert cond["oidc.eks.us-east-2.amazonaws.com/id/ABC:sub"] == "system:serviceaccount:dynamo:model-prefetch"
    assert trust["Statement"][0]["Principal"]["Federated"].endswith(
        "oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/ABC"
    )
    assert "infer-prod-model-reader" in roles


def test_aws_csi_chart_pv_pvc_and_prefetch(aws_plan: Plan) -> None:
    res = storage_resources(aws_plan)
    (chart,) = of_type(res, "kubernetes:helm.sh/v4:Chart").values()
    assert (chart.inputs["chart"], chart.inputs["version"]) == ("aws-fsx-csi-driver", "1.17.0")
    (pv,) = of_type(res, "kubernetes:core/v1:PersistentVolume").values()
    assert pv.protect is True
    csi = pv.inputs["spec"]["csi"]
    assert csi["driver"] == "fsx.csi.aws.com" and csi["volumeHandle"].startswith("fs-")
    assert set(csi["volumeAttributes"]) == {"dnsname", "mountname"}
    (pvc,) = of_type(res, "kubernetes:core/v1:PersistentVolumeClaim").values()
    assert pvc.protect is True and pvc.inputs["spec"]["volumeName"] == "model-cache-dynamo"
    assert pvc.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    (job,) = of_type(res, "kubernetes:batch/v1:Job").values()
    assert job.name == "dynamo/prefetch-redhatai-llama-3-3-70b-instruct-fp8-dynamic"
    assert pvc.urn in job.depends_on
    (secret,) = of_type(res, "kubernetes:core/v1:Secret").values()
    assert secret.inputs["stringData"] == {"HF_TOKEN": "[secret]"}
    sa = of_type(res, "kubernetes:core/v1:ServiceAccount")["dynamo/model-prefetch"]
    assert sa.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
        ":role/infer-prod-model-prefetch"
    )


def test_ncp_csi_storage_class_and_claims_per_namespace(ncp_plan: Plan) -> None:
    res = storage_resources(ncp_plan)
    classes = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in of_type(res, "kubernetes:storage.k8s.io/v1:StorageClass").values()
    }
    assert classes["lustre-rwx"]["provisioner"] == "exa.csi.ddn.com"
    assert classes["local-nvme"]["provisioner"] == "rancher.io/local-path"
    pvs = of_type(res, "kubernetes:core/v1:PersistentVolume")
    assert sorted(pvs) == ["model-cache-team-a", "model-cache-team-b"]
    assert {r.inputs["spec"]["csi"]["volumeHandle"] for r in pvs.values()} == {"exa1:/exaFS/model-cache"}
    pvcs = of_type(res, "kubernetes:core/v1:PersistentVolumeClaim")
    assert sorted(pvcs) == ["team-a/model-cache", "team-b/model-cache"] and all(r.protect for r in pvcs.values())
    jobs = sorted(of_type(res, "kubernetes:batch/v1:Job"))
    assert jobs == ["team-a/prefetch-deepseek-ai-deepseek-r1", "team-b/prefetch-meta-llama-llama-3-1-70b-instruct"]
    assert not of_type(res, "aws:fsx/lustreFileSystem:LustreFileSystem")


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="../shared/upstream (CRDs, chart values) is not present")
def test_rendered_plans_validate_against_upstream(aws_plan: Plan, ncp_plan: Plan) -> None:
    v = Validator("1.33", UPSTREAM / "crds", UPSTREAM / "chart-values")
    for plan in (aws_plan, ncp_plan, synth(read_stack_file("dev"))):
        result = v.validate_plan(plan.to_json())
        assert [f.render() for f in result.findings] == []
