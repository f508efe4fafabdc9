"""The real program on the offline engine: aws-h100 (VPC + EFA) and ncp-ib (Network Operator + topology)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stacks.validate import Validator

CRD_DIR = Path(os.environ.get("INFERENCE_RA_CRD_DIR", "/work/shared/upstream/crds"))
VALUES_DIR = Path(os.environ.get("INFERENCE_RA_CHART_VALUES_DIR", "/work/shared/upstream/chart-values"))


def _by_type(plan, type_):  # type: ignore[no-untyped-def]
    return [r for r in plan.resources if r.type == type_]


def _layer(r) -> str:  # type: ignore[no-untyped-def]
    return r.urn.split("::")[2].split("$")[1]


def test_aws_h100_vpc_and_subnets(aws_h100_plan) -> None:  # type: ignore[no-untyped-def]
    (vpc,) = _by_type(aws_h100_plan, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True
    assert _layer(vpc) == "inference-ra:network:Network"
    subnets = {r.name: r.inputs for r in _by_type(aws_h100_plan, "aws:ec2/subnet:Subnet")}
    private = subnets["infer-prod-private-us-east-2a"]
    assert private["cidrBlock"] == "10.0.0.0/18"
    assert private["tags"]["kubernetes.io/role/internal-elb"] == "1"
    assert "kubernetes.io/role/elb" not in subnets["infer-prod-public-us-east-2a"]["tags"]
    assert len(_by_type(aws_h100_plan, "aws:ec2/natGateway:NatGateway")) == 2  # natGateways: per-az
    services = sorted(r.inputs["serviceName"] for r in _by_type(aws_h100_plan, "aws:ec2/vpcEndpoint:VpcEndpoint"))
    assert services == [f"com.amazonaws.us-east-2.{s}" for s in ("ecr.api", "ecr.dkr", "s3", "sts")]


def test_aws_h100_eks_uses_the_private_subnets(aws_h100_plan) -> None:  # type: ignore[no-untyped-def]
    (cluster,) = _by_type(aws_h100_plan, "aws:eks/cluster:Cluster")
    subnet_ids = {r.urn: r for r in _by_type(aws_h100_plan, "aws:ec2/subnet:Subnet") if "private" in r.name}
    assert len(cluster.inputs["vpcConfig"]["subnetIds"]) == len(subnet_ids) == 2
    assert all(i.startswith("subnet-") for i in cluster.inputs["vpcConfig"]["subnetIds"])


def test_aws_h100_efa_security_group_allows_itself_both_ways(aws_h100_plan) -> None:  # type: ignore[no-untyped-def]
    (sg,) = [r for r in _by_type(aws_h100_plan, "aws:ec2/securityGroup:SecurityGroup") if r.name.endswith("-efa")]
    # the EFA group's own rules (the FSx file system's rules on it are the storage layer's: tests/storage)
    ingress = [
        r
        for r in _by_type(aws_h100_plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name == "infer-prod-efa-self-in"
    ]
    egress = [
        r
        for r in _by_type(aws_h100_plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.name == "infer-prod-efa-self-out"
    ]
    assert len(ingress) == len(egress) == 1
    for rule in (ingress[0], egress[0]):
        assert rule.inputs["ipProtocol"] == "-1"
        assert rule.inputs["securityGroupId"] == rule.inputs["referencedSecurityGroupId"]
        assert rule.inputs["securityGroupId"].startswith("sg-")
        assert sg.urn in rule.depends_on


def test_aws_h100_efa_device_plugin(aws_h100_plan) -> None:  # type: ignore[no-untyped-def]
    charts = [
        r
        for r in _by_type(aws_h100_plan, "kubernetes:helm.sh/v4:Chart")
        if r.inputs["chart"] == "aws-efa-k8s-device-plugin"
    ]
    (chart,) = charts
    assert chart.inputs["version"] == "v0.5.30" and chart.inputs["namespace"] == "kube-system"
    assert chart.inputs["values"]["supportedInstanceLabels"]["values"] == ["h100"]
    assert _layer(chart) == "inference-ra:fabric:Fabric"
    assert not _by_type(aws_h100_plan, "kubernetes:mellanox.com/v1alpha1:NicClusterPolicy")


def test_ncp_ib_network_operator_objects(ncp_ib_plan) -> None:  # type: ignore[no-untyped-def]
    (policy,) = _by_type(ncp_ib_plan, "kubernetes:mellanox.com/v1alpha1:NicClusterPolicy")
    spec = policy.inputs["spec"]
    assert spec["ofedDriver"]["version"] == "doca3.4.1-26.04-1.1.0.0-1"
    assert set(spec["secondaryNetwork"]) == {"cniPlugins", "multus", "ipoib"}
    assert spec["nvIpam"]["image"] == "nvidia-k8s-ipam"
    pools = _by_type(ncp_ib_plan, "kubernetes:nv-ipam.nvidia.com/v1alpha1:IPPool")
    assert sorted(p.inputs["metadata"]["name"] for p in pools) == [f"rail{i}" for i in range(8)]
    rail5 = next(p for p in pools if p.inputs["metadata"]["name"] == "rail5")
    # GB200 trays have 4 NICs: rails 4-7 are H200-only
    assert rail5.inputs["spec"]["nodeSelector"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["h200"]
    nets = _by_type(ncp_ib_plan, "kubernetes:mellanox.com/v1alpha1:IPoIBNetwork")
    assert [n.inputs["spec"]["master"] for n in sorted(nets, key=lambda n: n.inputs["metadata"]["name"])] == [
        "ibp24s0",
        "ibp64s0",
        "ibp79s0",
        "ibp94s0",
        "ibp154s0",
        "ibp192s0",
        "ibp206s0",
        "ibp220s0",
    ]
    (chart,) = [
        r for r in _by_type(ncp_ib_plan, "kubernetes:helm.sh/v4:Chart") if r.inputs["chart"] == "network-operator"
    ]
    assert chart.inputs["values"]["nfd"] == {"enabled": False}
    assert chart.urn in policy.depends_on


def test_ncp_ib_topology_objects(ncp_ib_plan) -> None:  # type: ignore[no-untyped-def]
    assert len(_by_type(ncp_ib_plan, "kubernetes:kai.scheduler/v1alpha1:Topology")) == 1
    assert len(_by_type(ncp_ib_plan, "kubernetes:grove.io/v1alpha1:ClusterTopologyBinding")) == 1


@pytest.mark.skipif(not CRD_DIR.is_dir(), reason="upstream CRDs not available")
def test_ncp_ib_fabric_objects_validate_against_upstream(ncp_ib_plan) -> None:  # type: ignore[no-untyped-def]
    validator = Validator("1.33", CRD_DIR, VALUES_DIR)
    result = validator.validate_plan(ncp_ib_plan.to_json())
    assert result.findings == []
    assert result.checked_objects >= 1 + 8 + 8 + 2
