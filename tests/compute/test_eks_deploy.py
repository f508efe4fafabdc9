"""Issue 16: a real `pulumi up` of an EKS stack gets through and deploys what the spec says.

One block per item: the aws-h100 plan (offline engine) shows the fix, and where a user could make the same mistake
in a spec, the rule rejects it with its key path.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pulumi_aws as aws
import pytest

from components.catalog import NODE_TYPES
from components.catalog.compat import EKS_ADDON_NAMES
from components.loader import SpecError, spec_from_mapping
from stacks import placeholders
from tests.compute.conftest import one, resources, spec_of, stack_mapping, synth_mapping
from tests.compute.test_rules import problems

LT = "aws:ec2/launchTemplate:LaunchTemplate"
NG = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


# ------------------------------------------------------------------------ 1. add-on versions at deploy time
def test_addon_versions_are_resolved_at_deploy_not_pinned(plans: Any) -> None:
    addons = {r.inputs["addonName"]: r.inputs["addonVersion"] for r in resources(plans("aws-h100"), ADDON)}
    assert addons == {a: f"<resolved at deploy: {a} for 1.33, most recent>" for a in EKS_ADDON_NAMES}


def test_the_offline_engine_answers_the_addon_lookup_with_an_obvious_placeholder() -> None:
    got = placeholders.invoke(
        "aws:eks/getAddonVersion:getAddonVersion",
        {"addonName": "coredns", "kubernetesVersion": "1.34", "mostRecent": True},
        "us-east-2",
    )
    assert got["version"] == "<resolved at deploy: coredns for 1.34, most recent>"


def test_an_explicit_addon_pin_wins() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["addonVersions"] = {"kube-proxy": "v1.33.5-eksbuild.2"}
    addons = {r.inputs["addonName"]: r.inputs["addonVersion"] for r in resources(synth_mapping("pin", d), ADDON)}
    assert addons["kube-proxy"] == "v1.33.5-eksbuild.2"
    assert addons["coredns"] == "<resolved at deploy: coredns for 1.33, most recent>"


def test_rejects_kube_proxy_pin_of_another_minor() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["addonVersions"] = {"kube-proxy": "v1.32.6-eksbuild.13"}
    assert problems(d, "eks-addons") == [
        "inference-ra:cluster.addonVersions.kube-proxy: kube-proxy must match the cluster's Kubernetes minor 1.33 "
        "(got 'v1.32.6-eksbuild.13'; pin a v1.33.x-eksbuild.N version (aws eks describe-addon-versions "
        "--addon-name kube-proxy --kubernetes-version 1.33), or drop the pin to resolve it at deploy time)"
    ]


def test_rejects_addon_pin_that_is_not_an_eks_build() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["addonVersions"] = {"coredns": "1.11.4"}
    out = problems(d, "eks-addons")
    assert len(out) == 1 and out[0].startswith("inference-ra:cluster.addonVersions.coredns: is not an EKS add-on")


# ------------------------------------------------------------------------------ 2. reaching the API server
def test_the_default_endpoint_is_public_and_needs_cidrs() -> None:
    d = stack_mapping("aws-h100")
    for key in ("endpointPublicAccess", "publicAccessCidrs"):
        d["cluster"].pop(key, None)
    assert problems(d, "aws-network") == [
        "inference-ra:cluster.publicAccessCidrs: a public EKS endpoint must be restricted to allow-listed CIDRs "
        "(got []; list the egress CIDRs of whoever runs `pulumi up` (office, CI runners), or reach a private "
        "endpoint from an existing VPC (network.existingVpc + cluster.privateEndpointAccess))"
    ]


def test_rejects_public_endpoint_open_to_everyone() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"].update(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24", "0.0.0.0/0"])
    out = problems(d, "aws-network")
    assert len(out) == 1 and out[0].startswith("inference-ra:cluster.publicAccessCidrs[1]: "), out


@pytest.mark.parametrize("cidr", ["10.1.0.0/0", "not-a-cidr"])
def test_rejects_malformed_public_access_cidr(cidr: str) -> None:
    d = stack_mapping("aws-h100")
    d["cluster"].update(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24", cidr])
    with pytest.raises(SpecError) as exc:  # the Cidr type refuses it before any rule runs
        spec_of(d)
    assert [p.path for p in exc.value.problems] == ["cluster.publicAccessCidrs[1]"]


def test_rejects_private_endpoint_in_a_vpc_this_stack_creates() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"].update(endpointPublicAccess=False, publicAccessCidrs=[])
    out = problems(d, "aws-network")
    assert out == [
        "inference-ra:cluster.endpointPublicAccess: a private endpoint in a VPC this stack creates has no route from "
        "whoever runs `pulumi up` (no VPN, peering or transit gateway, and the cluster security group admits 443 "
        "only from itself), so the first `pulumi up` cannot reach the Kubernetes API (got False; keep it public "
        "with publicAccessCidrs, or set network.existingVpc and cluster.privateEndpointAccess)"
    ]


def test_rejects_private_endpoint_without_a_declared_source() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"].update(endpointPublicAccess=False, publicAccessCidrs=[])
    d["network"]["existingVpc"] = {
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": {"us-east-2a": "subnet-0aaa1111", "us-east-2b": "subnet-0bbb2222"},
    }
    d["network"]["endpoints"] = []
    out = problems(d, "aws-network")
    assert out == [
        "inference-ra:cluster.privateEndpointAccess: a private endpoint needs the security group or CIDR that "
        "`pulumi up` runs from (got None; set sourceSecurityGroupIds (a runner in the VPC) or sourceCidrs (a "
        "network routed to the VPC))"
    ]


def _private_on_existing_vpc() -> dict[str, Any]:
    d = stack_mapping("aws-h100")
    d["cluster"].update(
        endpointPublicAccess=False,
        publicAccessCidrs=[],
        privateEndpointAccess={"sourceSecurityGroupIds": ["sg-0123456789abcdef0"], "sourceCidrs": ["10.50.0.0/16"]},
    )
    d["network"]["existingVpc"] = {
        "vpcId": "vpc-0123456789abcdef0",
        "privateSubnetIds": {"us-east-2a": "subnet-0aaa1111", "us-east-2b": "subnet-0bbb2222"},
    }
    d["network"]["endpoints"] = []
    return d


def test_private_endpoint_on_an_existing_vpc_admits_the_runner_on_443() -> None:
    plan = synth_mapping("private", _private_on_existing_vpc())
    assert resources(plan, "aws:ec2/vpc:Vpc") == [] and resources(plan, "aws:ec2/natGateway:NatGateway") == []
    cluster = one(plan, "aws:eks/cluster:Cluster", "infer-prod-cluster").inputs
    assert cluster["vpcConfig"]["endpointPublicAccess"] is False
    assert cluster["vpcConfig"]["subnetIds"] == ["subnet-0aaa1111", "subnet-0bbb2222"]
    sg = one(plan, INGRESS, "infer-prod-api-from-sg-0123456789abcdef0").inputs
    assert (sg["ipProtocol"], sg["fromPort"], sg["toPort"]) == ("tcp", 443, 443)
    assert sg["referencedSecurityGroupId"] == "sg-0123456789abcdef0"
    assert sg["securityGroupId"].startswith("sg-")  # the cluster security group
    cidr = one(plan, INGRESS, "infer-prod-api-from-10-50-0-0-16").inputs
    assert cidr["cidrIpv4"] == "10.50.0.0/16" and cidr["fromPort"] == 443
    efa = one(plan, "aws:ec2/securityGroup:SecurityGroup", "infer-prod-efa").inputs
    assert efa["vpcId"] == "vpc-0123456789abcdef0"


def test_rejects_existing_vpc_without_a_subnet_per_zone() -> None:
    d = _private_on_existing_vpc()
    d["network"]["existingVpc"]["privateSubnetIds"] = {"us-east-2a": "subnet-0aaa1111"}
    assert problems(d, "existing-vpc") == [
        "inference-ra:network.existingVpc.privateSubnetIds: every availability zone needs its private subnet "
        "(got ['us-east-2a']; add us-east-2b)"
    ]


def test_rejects_endpoints_on_an_existing_vpc() -> None:
    d = _private_on_existing_vpc()
    d["network"]["endpoints"] = ["s3"]
    out = problems(d, "existing-vpc")
    assert len(out) == 1 and out[0].startswith("inference-ra:network.endpoints: ")


def test_aws_h100_reaches_a_public_endpoint_restricted_to_its_cidrs(plans: Any) -> None:
    cluster = one(plans("aws-h100"), "aws:eks/cluster:Cluster", "infer-prod-cluster").inputs
    assert cluster["vpcConfig"]["endpointPublicAccess"] is True
    assert cluster["vpcConfig"]["publicAccessCidrs"] and "0.0.0.0/0" not in cluster["vpcConfig"]["publicAccessCidrs"]


# ------------------------------------------------------------------------------------------ 4. Capacity Blocks
def test_capacity_block_pool_is_created_at_zero_and_scaled_on_schedule(plans: Any) -> None:
    plan = plans("aws-h100")
    ng = one(plan, NG, "infer-prod-h100").inputs
    assert ng["scalingConfig"]["minSize"] == 0 and ng["scalingConfig"]["desiredSize"] == 0
    size = ng["scalingConfig"]["maxSize"]
    up = one(plan, SCHEDULE, "infer-prod-h100-block-start").inputs
    down = one(plan, SCHEDULE, "infer-prod-h100-block-end").inputs
    assert up["startTime"] == "2026-12-01T11:30:00Z"
    assert (up["minSize"], up["desiredCapacity"], up["maxSize"]) == (size, size, -1)
    assert down["startTime"] == "2026-12-15T10:45:00Z"  # 45 minutes before the block ends at 11:30
    assert (down["minSize"], down["desiredCapacity"], down["maxSize"]) == (0, 0, -1)
    assert up["autoscalingGroupName"].startswith("eks-infer-prod-h100-")
    assert up["autoscalingGroupName"] == down["autoscalingGroupName"]


def _block(**capacity: Any) -> dict[str, Any]:
    d = stack_mapping("aws-h100")
    d["gpuPools"][0]["capacity"].update(capacity)
    return d


def test_rejects_capacity_block_pool_with_nodes_at_creation() -> None:
    d = _block()
    d["gpuPools"][0]["nodes"] = {"min": 2, "desired": 2, "max": 16}
    out = problems(d, "capacity-block-window")
    assert out == [
        "inference-ra:gpuPools[0].nodes.min: a capacity-block pool is created empty and scaled by its window's "
        "scheduled actions (EKS needs desired 0 until the block is active and for node group updates) (got 2; set "
        "min: 0 (and no desired); nodes.max is the block's instance count)"
    ]


def test_rejects_capacity_block_without_its_window() -> None:
    d = _block()
    for key in ("start", "end"):
        d["gpuPools"][0]["capacity"].pop(key, None)
    out = problems(d, "capacity-block-window")
    assert [p.split(":", 2)[1] for p in out] == ["gpuPools[0].capacity.start", "gpuPools[0].capacity.end"]


def test_rejects_window_that_ends_before_it_scales_in() -> None:
    out = problems(_block(start="2026-12-01T11:30:00Z", end="2026-12-01T12:00:00Z"), "capacity-block-window")
    assert len(out) == 1 and out[0].startswith("inference-ra:gpuPools[0].capacity.end: ")


def test_rejects_window_on_on_demand_capacity() -> None:
    d = stack_mapping("aws-h100")
    d["gpuPools"][0]["capacity"] = {"type": "on-demand", "start": "2026-12-01T11:30:00Z"}
    d["gpuPools"][0]["nodes"] = {"min": 1, "max": 4}
    out = problems(d, "capacity-block-window")
    assert len(out) == 1 and out[0].startswith("inference-ra:gpuPools[0].capacity.start: ")


def test_rejects_window_without_timezone() -> None:
    d = _block(start="2026-12-01T11:30:00")
    with pytest.raises(SpecError) as err:
        spec_of(d)
    assert "gpuPools[0].capacity.start" in str(err.value)


# --------------------------------------------------------------------------------- 8. EFA <-> FSx client
def _user_data(plan: Any) -> str:
    return base64.b64decode(one(plan, LT, "infer-prod-h100").inputs["userData"]).decode()


def test_gpu_nodes_configure_the_lustre_client_for_efa(plans: Any) -> None:
    text = _user_data(plans("aws-h100"))
    assert "Content-Type: application/node.eks.aws" in text  # nodeadm NodeConfig part kept
    assert "Content-Type: text/x-shellscript" in text
    assert "dnf install -y lustre-client" in text
    assert "configure-efa-fsx-lustre-client" in text and "setup.sh" in text


def test_no_lustre_efa_client_without_efa_fsx() -> None:
    d = stack_mapping("aws-h100")
    d["storage"]["parallelFs"]["efa"] = False
    d["storage"]["parallelFs"]["capacityTiB"] = 24
    assert "text/x-shellscript" not in _user_data(synth_mapping("noefa-fsx", d))


# ---------------------------------------------------------------------------------------- 9. least privilege
def test_cni_policy_moves_from_the_node_role_to_an_irsa_role(plans: Any) -> None:
    plan = plans("aws-h100")
    attached = {
        r.name: r.inputs["policyArn"].rsplit("/", 1)[-1]
        for r in resources(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    node = sorted(p for n, p in attached.items() if n.startswith("infer-prod-node-"))
    assert "AmazonEKS_CNI_Policy" not in node
    assert attached["infer-prod-vpc-cni-AmazonEKS_CNI_Policy"] == "AmazonEKS_CNI_Policy"
    trust = json.loads(one(plan, "aws:iam/role:Role", "infer-prod-vpc-cni").inputs["assumeRolePolicy"])
    subs = [v for k, v in trust["Statement"][0]["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subs == ["system:serviceaccount:kube-system:aws-node"]
    cni = one(plan, ADDON, "infer-prod-vpc-cni").inputs
    assert cni["serviceAccountRoleArn"] == "arn:aws:iam::123456789012:role/infer-prod-vpc-cni"


def test_imds_hop_limit_is_1_by_default(plans: Any) -> None:
    for name in ("infer-prod-h100", "infer-prod-system"):
        assert one(plans("aws-h100"), LT, name).inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_access_entries_replace_the_creators_bootstrap_admin(plans: Any) -> None:
    plan = plans("aws-h100")
    cluster = one(plan, "aws:eks/cluster:Cluster", "infer-prod-cluster").inputs
    assert cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    policies = {
        r.inputs["policyArn"].rsplit("/", 1)[-1]
        for r in resources(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    assert "AmazonEKSClusterAdminPolicy" in policies
    provider = one(plan, "pulumi:providers:kubernetes", "k8s")
    admin = [
        r.urn
        for r in resources(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if r.inputs["policyArn"].endswith("AmazonEKSClusterAdminPolicy")
    ]
    assert set(admin) <= set(provider.depends_on)  # the provider's first call already has its access entry


def test_bootstrap_admin_stays_on_without_a_cluster_admin_entry() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["accessEntries"] = []
    spec = spec_of(d)
    assert spec.cluster.resolved_bootstrap_admin is True


def test_rejects_bootstrap_off_without_a_cluster_admin_entry() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["accessEntries"] = [{"principalArn": "arn:aws:iam::123456789012:role/ro", "policy": "view"}]
    d["cluster"]["bootstrapClusterCreatorAdminPermissions"] = False
    assert problems(d, "cluster-access") == [
        "inference-ra:cluster.bootstrapClusterCreatorAdminPermissions: with the creator's admin off, nobody can "
        "administer the cluster, and `pulumi up` itself is locked out of the Kubernetes API (got False; add an "
        "accessEntries item with policy: cluster-admin for the role that runs `pulumi up`)"
    ]


def test_rejects_bootstrap_admin_left_on_next_to_access_entries() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["bootstrapClusterCreatorAdminPermissions"] = True
    out = problems(d, "cluster-access")
    assert len(out) == 1 and out[0].startswith(
        "inference-ra:cluster.bootstrapClusterCreatorAdminPermissions: leaves whoever created the cluster a "
        "permanent, invisible cluster admin"
    )


# --------------------------------------------------------------------------------- 10. real types and regions
def test_every_aws_node_type_in_the_catalog_is_a_real_ec2_type() -> None:
    real = {t.value for t in aws.ec2.InstanceType}
    assert [k for k, n in NODE_TYPES.items() if n.provider == "aws" and k not in real] == []


def test_rejects_system_nodes_of_an_unknown_instance_type() -> None:
    d = stack_mapping("aws-h100")
    d["cluster"]["systemNodes"]["instanceType"] = "m7i.4xlargee"
    out = problems(d, "ec2-instance-types")
    assert len(out) == 1 and out[0].startswith(
        "inference-ra:cluster.systemNodes.instanceType: is not an EC2 instance type (got 'm7i.4xlargee'"
    )


def test_rejects_unknown_region() -> None:
    with pytest.raises(SpecError) as err:
        spec_from_mapping(stack_mapping("aws-h100"), region="us-east-9")
    assert "inference-ra:(aws:region): is not an AWS region (got 'us-east-9'" in str(err.value)


def test_rejects_availability_zone_of_another_region() -> None:
    with pytest.raises(SpecError) as err:
        spec_from_mapping(stack_mapping("aws-h100"), region="us-west-2")
    assert "inference-ra:network.availabilityZones[0]: is not an availability zone of region us-west-2" in str(
        err.value
    )


def test_prices_say_which_region_they_come_from() -> None:
    from components.catalog.prices import PriceBook

    book = PriceBook()
    assert book.region_note("us-east-2") == "AWS prices are us-east-2 (Ohio) on-demand list prices, the stack's region."
    assert book.region_note("eu-west-1") == (
        "AWS prices are us-east-2 (Ohio) on-demand list prices, not eu-west-1's: set policy.prices for this region."
    )
    assert book.region_note(None) == ""


def test_report_of_a_stack_elsewhere_says_its_prices_are_not_its_regions() -> None:
    from stacks.report import render_report

    d = stack_mapping("aws-h100")
    d["network"]["availabilityZones"] = ["eu-west-1a", "eu-west-1b"]
    d["gpuPools"][0]["availabilityZone"] = "eu-west-1a"
    text = render_report(synth_mapping("eu", d, region="eu-west-1"))
    assert "AWS prices are us-east-2 (Ohio) on-demand list prices, not eu-west-1's" in text
