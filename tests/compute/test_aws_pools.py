"""AWS node pools and the EKS cluster: pure builders, then the aws-h100 plan on the offline engine."""

from __future__ import annotations

import base64
import json
from typing import Any

import yaml

from components.catalog import NODE_TYPES
from components.catalog.compat import EKS_ADDON_NAMES
from components.constants import FABRIC_LABEL, GPU_MODEL_LABEL, POOL_LABEL
from gpu_nodepools.aws_pools import efa_network_interfaces, local_nvme_host_path, nodeadm_user_data
from tests.compute.conftest import one, resources, spec_of, stack_mapping, synth_mapping

LT = "aws:ec2/launchTemplate:LaunchTemplate"
NG = "aws:eks/nodeGroup:NodeGroup"


# -------------------------------------------------------------------------------------------- pure builders
def test_efa_interfaces_follow_the_catalog() -> None:
    spec = spec_of(stack_mapping("aws-h100"))
    ifaces = efa_network_interfaces(spec, spec.gpu_pools[0])
    assert len(ifaces) == NODE_TYPES["p5.48xlarge"].efa_interfaces == 32
    first = ifaces[0]
    assert (first.network_card_index, first.device_index, first.interface_type, first.primary) == (0, 0, "efa", True)
    assert [i.network_card_index for i in ifaces] == list(range(32))
    assert {i.interface_type for i in ifaces[1:]} == {"efa-only"}


def test_no_efa_interfaces_without_efa_fabric() -> None:
    d = stack_mapping("aws-h100")
    d["network"]["fabric"] = {"type": "tcp"}
    d["serving"]["models"][0].update(mode="aggregated", worker={"tensorParallel": 4, "replicas": 1})
    for key in ("prefill", "decode"):
        d["serving"]["models"][0].pop(key)
    d["storage"]["parallelFs"]["efa"] = False
    spec = spec_of(d)
    assert efa_network_interfaces(spec, spec.gpu_pools[0]) == []


def test_nodeadm_user_data_raid0_at_mount_path() -> None:
    spec = spec_of(stack_mapping("aws-h100"))
    text = nodeadm_user_data(spec, spec.gpu_pools[0])
    assert text is not None and "Content-Type: application/node.eks.aws" in text
    config = yaml.safe_load(text.split("application/node.eks.aws\n\n", 1)[1].split("\n--", 1)[0])
    assert config == {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {"instance": {"localStorage": {"strategy": "RAID0", "mountPath": "/mnt/nvme"}}},
    }
    assert local_nvme_host_path(spec, spec.gpu_pools[0]) == "/mnt/nvme/0"


# ---------------------------------------------------------------------------------------- aws-h100 plan
def _gpu_template(plans: Any) -> dict[str, Any]:
    return one(plans("aws-h100"), LT, "infer-prod-h100").inputs  # type: ignore[no-any-return]


def test_plan_efa_interfaces_equal_catalog(plans: Any) -> None:
    nis = _gpu_template(plans)["networkInterfaces"]
    assert len(nis) == NODE_TYPES["p5.48xlarge"].efa_interfaces
    assert nis[0]["networkCardIndex"] == 0 and nis[0]["deviceIndex"] == 0 and nis[0]["interfaceType"] == "efa"
    assert all(n["interfaceType"] == "efa-only" and n["deviceIndex"] == 0 for n in nis[1:])
    assert [n["networkCardIndex"] for n in nis] == list(range(32))
    # the primary interface carries the cluster security group (EKS adds none with explicit interfaces)
    assert nis[0]["securityGroups"] and nis[0]["securityGroups"][0].startswith("sg-")


def test_plan_imdsv2_and_encrypted_root(plans: Any) -> None:
    for name in ("infer-prod-h100", "infer-prod-system"):
        lt = one(plans("aws-h100"), LT, name).inputs
        assert lt["metadataOptions"]["httpTokens"] == "required"
        assert lt["metadataOptions"]["httpPutResponseHopLimit"] == 1
        assert lt["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert _gpu_template(plans)["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 500


def test_plan_capacity_block(plans: Any) -> None:
    lt = _gpu_template(plans)
    assert lt["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert lt["capacityReservationSpecification"]["capacityReservationTarget"]["capacityReservationId"] == (
        "cr-0abc123def4567890"
    )
    assert "placement" not in lt  # the block's placement, not a placement group
    ng = one(plans("aws-h100"), NG, "infer-prod-h100").inputs
    assert ng["capacityType"] == "CAPACITY_BLOCK"
    assert "instanceTypes" not in ng and lt["instanceType"] == "p5.48xlarge"


def test_plan_user_data_decodes_to_nodeadm(plans: Any) -> None:
    text = base64.b64decode(_gpu_template(plans)["userData"]).decode()
    assert "kind: NodeConfig" in text and "strategy: RAID0" in text and "mountPath: /mnt/nvme" in text


def test_plan_gpu_node_group_labels_taints_scaling(plans: Any) -> None:
    ng = one(plans("aws-h100"), NG, "infer-prod-h100").inputs
    assert ng["amiType"] == "AL2023_x86_64_NVIDIA"
    assert ng["labels"][POOL_LABEL] == "h100"
    assert ng["labels"][GPU_MODEL_LABEL] == "h100-sxm-80gb"
    assert ng["labels"][FABRIC_LABEL] == "efa"
    assert ng["labels"]["inference-ra.nvidia.com/capacity-reservation"] == "cr-0abc123def4567890"
    assert ng["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert ng["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 16}  # a capacity block: scheduled
    assert ng["updateConfig"] == {"maxUnavailable": 1}


def test_plan_cluster_encrypted_with_its_addons(plans: Any) -> None:
    plan = plans("aws-h100")
    cluster = one(plan, "aws:eks/cluster:Cluster", "infer-prod-cluster").inputs
    assert cluster["vpcConfig"]["endpointPrivateAccess"] is True
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:us-east-2:")
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    addons = {r.inputs["addonName"]: r.inputs["addonVersion"] for r in resources(plan, "aws:eks/addon:Addon")}
    assert sorted(addons) == sorted(EKS_ADDON_NAMES)
    oidc = one(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "infer-prod-oidc").inputs
    assert oidc["clientIdLists"] == ["sts.amazonaws.com"] and oidc["url"].startswith("https://oidc.eks.us-east-2.")
    system = one(plan, NG, "infer-prod-system").inputs
    assert system["instanceTypes"] == ["m7i.4xlarge"] and system["amiType"] == "AL2023_x86_64_STANDARD"
    key = one(plan, "aws:kms/key:Key", "infer-prod-secrets")
    assert key.protect and key.inputs["enableKeyRotation"] is True


def test_plan_node_role_policies(plans: Any) -> None:
    plan = plans("aws-h100")
    node_policies = sorted(
        r.inputs["policyArn"].rsplit("/", 1)[-1]
        for r in resources(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith("infer-prod-node-")
    )
    assert node_policies == [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
        "AmazonSSMManagedInstanceCore",
    ]


def test_on_demand_pool_gets_placement_group_and_access_entries() -> None:
    d = stack_mapping("aws-h100")
    d["gpuPools"][0]["capacity"] = {"type": "on-demand"}
    d["gpuPools"][0]["nodes"] = {"min": 0, "max": 4}
    d["cluster"]["accessEntries"] = [{"principalArn": "arn:aws:iam::123456789012:role/ci", "policy": "admin"}]
    d["cluster"]["endpointPublicAccess"] = True
    d["cluster"]["publicAccessCidrs"] = ["203.0.113.0/24"]
    plan = synth_mapping("aws-ondemand", d)
    pg = one(plan, "aws:ec2/placementGroup:PlacementGroup", "infer-prod-h100").inputs
    assert pg["strategy"] == "cluster"
    lt = one(plan, LT, "infer-prod-h100").inputs
    assert lt["placement"] == {"groupName": "infer-prod-h100"}
    assert "instanceMarketOptions" not in lt and "capacityReservationSpecification" not in lt
    ng = one(plan, NG, "infer-prod-h100").inputs
    assert ng["capacityType"] == "ON_DEMAND"
    assert ng["labels"]["inference-ra.nvidia.com/placement-group"] == "infer-prod-h100"
    assoc = one(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "infer-prod-access-0-admin").inputs
    assert assoc["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"
    assert assoc["accessScope"] == {"type": "cluster"}
    cluster = one(plan, "aws:eks/cluster:Cluster", "infer-prod-cluster").inputs
    assert cluster["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_network_handles_are_used(monkeypatch: Any) -> None:
    from components import platform
    from tests.compute import network_handles

    # the real network layer replaced by a stand-in that sets only the handle contract, with known ids
    layers = tuple(
        ("network", "tests.compute.network_handles:build") if name == "network" else (name, target)
        for name, target in platform.LAYERS
    )
    monkeypatch.setattr(platform, "LAYERS", layers)
    plan = synth_mapping("aws-net", stack_mapping("aws-h100"))
    cluster = one(plan, "aws:eks/cluster:Cluster", "infer-prod-cluster").inputs
    assert cluster["vpcConfig"]["subnetIds"] == ["subnet-0aaa", "subnet-0bbb"]
    ng = one(plan, NG, "infer-prod-h100").inputs
    assert ng["subnetIds"] == ["subnet-0aaa"]  # the pool's AZ only
    nis = one(plan, LT, "infer-prod-h100").inputs["networkInterfaces"]
    assert nis[0]["securityGroups"][1] == network_handles.EFA_SG
    assert all(n["securityGroups"] == [network_handles.EFA_SG] for n in nis[1:])
    assert one(plan, NG, "infer-prod-system").inputs["subnetIds"] == ["subnet-0aaa", "subnet-0bbb"]


def test_irsa_trust_policy_lists_several_subjects() -> None:
    from components.iam import irsa_trust_policy

    one_sa = json.loads(irsa_trust_policy("arn:p", "oidc/x", ["ns:a"]))["Statement"][0]["Condition"]["StringEquals"]
    many = json.loads(irsa_trust_policy("arn:p", "oidc/x", ["ns:b", "ns:a"]))["Statement"][0]["Condition"][
        "StringEquals"
    ]
    assert one_sa["oidc/x:sub"] == "system:serviceaccount:ns:a"
    assert many["oidc/x:sub"] == ["system:serviceaccount:ns:a", "system:serviceaccount:ns:b"]
    assert many["oidc/x:aud"] == "sts.amazonaws.com"
