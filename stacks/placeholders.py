"""Deterministic stand-ins for what clouds return (ids, ARNs, endpoints) during offline synth.

Values derive from the resource's type and name only, so two synths give identical bytes. Account 123456789012
is the documentation account AWS uses in its examples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

ACCOUNT = "123456789012"

_ID_PREFIX: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/route:Route": "r",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/placementGroup:PlacementGroup": "pg",
    "aws:fsx/lustreFileSystem:LustreFileSystem": "fs",
    "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation": "dra",
    "aws:kms/key:Key": "key",
}


def _digest(*parts: str, n: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


def resource_id(type_: str, name: str, inputs: dict[str, Any]) -> str:
    prefix = _ID_PREFIX.get(type_)
    if prefix:
        return f"{prefix}-{_digest(type_, name)}"
    if type_.startswith("kubernetes:"):
        meta = inputs.get("metadata") or {}
        ns = meta.get("namespace")
        return f"{ns}/{meta.get('name', name)}" if ns else str(meta.get("name", name))
    return str(inputs.get("name") or name)


def stack_reference(stack: str, exported: Mapping[str, Any]) -> dict[str, Any]:
    """What a StackReference to a layer stack reads offline: that stack's offline outputs (`exported`), with its
    kubeconfig a visible placeholder (a secret, so the plan shows "[secret]" wherever it goes)."""
    from components.layering import KUBECONFIG_OUTPUT

    outputs = {**exported, KUBECONFIG_OUTPUT: f"[offline: output {KUBECONFIG_OUTPUT} of stack {stack}]"}
    return {"id": stack, "name": stack, "outputs": outputs, "secretOutputNames": [KUBECONFIG_OUTPUT]}


def outputs(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Outputs a provider would add to the inputs of a created resource."""
    rid = resource_id(type_, name, inputs)
    module = type_.split(":")[1].split("/")[0] if type_.count(":") >= 2 else ""
    out: dict[str, Any] = {"id": rid}
    if type_.startswith("aws:"):
        res = inputs.get("name") or rid
        if module == "iam":
            kind = type_.rsplit(":", 1)[1]
            kind_path = {"Role": "role", "Policy": "policy", "InstanceProfile": "instance-profile"}.get(
                kind, kind.lower()
            )
            out["arn"] = f"arn:aws:iam::{ACCOUNT}:{kind_path}/{res}"
            out["name"] = res
        elif module == "s3":
            bucket = inputs.get("bucket") or name
            out.update(arn=f"arn:aws:s3:::{bucket}", bucket=bucket, id=bucket)
        else:
            out["arn"] = f"arn:aws:{module}:{region}:{ACCOUNT}:{type_.rsplit(':', 1)[1].lower()}/{rid}"
        extra = _EXTRA.get(type_)
        if extra:
            out.update(extra(name, inputs, region, rid))
    return out


def _eks_cluster(name: str, inputs: dict[str, Any], region: str, rid: str) -> dict[str, Any]:
    cluster = inputs.get("name") or name
    oidc = _digest("oidc", cluster, n=32).upper()
    return {
        "endpoint": f"https://{_digest('endpoint', cluster, n=32).upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {
            "data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk9GRkxJTkUKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
        },
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc}"}]}],
        "vpcConfig": {
            **(inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{_digest('clustersg', cluster)}",
        },
        "status": "ACTIVE",
    }


def _fsx(name: str, inputs: dict[str, Any], region: str, rid: str) -> dict[str, Any]:
    return {"dnsName": f"{rid}.fsx.{region}.amazonaws.com", "mountName": _digest("mount", name, n=8)}


def _kms(name: str, inputs: dict[str, Any], region: str, rid: str) -> dict[str, Any]:
    key_id = _digest("kms", name, n=32)
    return {"keyId": key_id, "arn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"}


def _oidc_provider(name: str, inputs: dict[str, Any], region: str, rid: str) -> dict[str, Any]:
    host = str(inputs.get("url") or f"oidc.eks.{region}.amazonaws.com/id/{_digest('oidc', name, n=32).upper()}")
    host = host.removeprefix("https://")
    return {"arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}", "id": host}


def _node_group(name: str, inputs: dict[str, Any], region: str, rid: str) -> dict[str, Any]:
    group = inputs.get("nodeGroupName") or name
    cluster = inputs.get("clusterName") or "cluster"
    uuid = _digest("ng", group, n=8)
    return {
        "arn": f"arn:aws:eks:{region}:{ACCOUNT}:nodegroup/{cluster}/{group}/{uuid}",
        "nodeGroupName": group,
        "status": "ACTIVE",
        # EKS names a managed node group's Auto Scaling group eks-<node group>-<uuid>
        "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{uuid}"}], "remoteAccessSecurityGroupId": ""}],
    }


def _launch_template(name: str, inputs: dict[str, Any], region: str, rid: str) -> dict[str, Any]:
    return {"latestVersion": 1, "defaultVersion": 1}


_EXTRA = {
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:fsx/lustreFileSystem:LustreFileSystem": _fsx,
    "aws:kms/key:Key": _kms,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
}


def invoke(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    """Results of data-source invokes the program makes."""
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {
            "accountId": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:user/offline",
            "userId": "OFFLINE",
            "id": ACCOUNT,
        }
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region}
    if token == "aws:ssm/getParameter:getParameter":
        return {
            "name": args.get("name"),
            "value": f"ami-{_digest('ami', str(args.get('name')))}",
            "type": "String",
        }
    if token == "aws:eks/getAddonVersion:getAddonVersion":
        # Resolved by EKS at deploy time (DescribeAddonVersions); the plan shows what will be asked, not a version.
        name, k8s = args.get("addonName"), args.get("kubernetesVersion")
        recent = "most recent" if args.get("mostRecent") else "default"
        return {"addonName": name, "version": f"<resolved at deploy: {name} for {k8s}, {recent}>", "id": name}
    return {}
