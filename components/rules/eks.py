"""Rules of an EKS stack that a real `pulumi up` would otherwise discover late (issue 16): the network and the way
to the API endpoint, add-on pins, cluster access, real EC2 instance types, and Capacity Block windows.

`aws:region` is not part of the spec; the loader checks it (components/loader.py, `region_problems`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from datetime import timedelta

from components.catalog.regions import ec2_instance_types
from components.rules import Problem, rule
from components.spec import StackSpec

EKS_BUILD = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
_PUBLIC_FIX = (
    "list the egress CIDRs of whoever runs `pulumi up` (office, CI runners), or reach a private endpoint from an "
    "existing VPC (network.existingVpc + cluster.privateEndpointAccess)"
)


def _cidr_problem(value: str) -> str | None:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return "is not a CIDR"
    if net.prefixlen == 0:
        return "opens the endpoint to every address"
    return None


@rule("aws-network")
def aws_network(spec: StackSpec) -> Iterator[Problem]:
    """AZs, and a way for `pulumi up` to reach the API endpoint it creates (EKS cluster endpoint access control)."""
    if spec.cluster.provider != "aws":
        return
    cluster, net = spec.cluster, spec.network
    azs = net.availability_zones
    if not azs:
        yield Problem("network.availabilityZones", "an aws cluster needs at least one AZ", [], "list the AZs")
    for i, pool in enumerate(spec.gpu_pools):
        if pool.availability_zone and pool.availability_zone not in azs:
            yield Problem(
                f"gpuPools[{i}].availabilityZone",
                "is not one of network.availabilityZones",
                pool.availability_zone,
                f"use one of {azs}",
            )
    if cluster.endpoint_public_access:
        cidrs = cluster.public_access_cidrs
        if not cidrs:
            yield Problem(
                "cluster.publicAccessCidrs",
                "a public EKS endpoint must be restricted to allow-listed CIDRs",
                [],
                _PUBLIC_FIX,
            )
        for i, cidr in enumerate(cidrs):
            why = _cidr_problem(cidr)
            if why:
                yield Problem(f"cluster.publicAccessCidrs[{i}]", why, cidr, _PUBLIC_FIX)
        return
    if net.existing_vpc is None:
        yield Problem(
            "cluster.endpointPublicAccess",
            "a private endpoint in a VPC this stack creates has no route from whoever runs `pulumi up` (no VPN, "
            "peering or transit gateway, and the cluster security group admits 443 only from itself), so the first "
            "`pulumi up` cannot reach the Kubernetes API",
            False,
            "keep it public with publicAccessCidrs, or set network.existingVpc and cluster.privateEndpointAccess",
        )
        return
    access = cluster.private_endpoint_access
    if access is None or not (access.source_security_group_ids or access.source_cidrs):
        yield Problem(
            "cluster.privateEndpointAccess",
            "a private endpoint needs the security group or CIDR that `pulumi up` runs from",
            None,
            "set sourceSecurityGroupIds (a runner in the VPC) or sourceCidrs (a network routed to the VPC)",
        )
        return
    for i, sg in enumerate(access.source_security_group_ids):
        if not re.match(r"^sg-[0-9a-f]{8,17}$", sg):
            yield Problem(
                f"cluster.privateEndpointAccess.sourceSecurityGroupIds[{i}]", "is not a security group id", sg, "sg-..."
            )
    for i, cidr in enumerate(access.source_cidrs):
        why = _cidr_problem(cidr)
        if why:
            yield Problem(f"cluster.privateEndpointAccess.sourceCidrs[{i}]", why, cidr, "use the routed network's CIDR")


@rule("existing-vpc")
def existing_vpc(spec: StackSpec) -> Iterator[Problem]:
    vpc = spec.network.existing_vpc
    if vpc is None:
        return
    if spec.cluster.provider != "aws":
        yield Problem("network.existingVpc", "applies to aws clusters only", vpc.vpc_id, "remove it")
        return
    missing = [az for az in spec.network.availability_zones if az not in vpc.private_subnet_ids]
    if missing:
        yield Problem(
            "network.existingVpc.privateSubnetIds",
            "every availability zone needs its private subnet",
            sorted(vpc.private_subnet_ids),
            f"add {', '.join(missing)}",
        )
    for az, subnet in sorted(vpc.private_subnet_ids.items()):
        if not re.match(r"^subnet-[0-9a-f]{8,17}$", subnet):
            yield Problem(f"network.existingVpc.privateSubnetIds.{az}", "is not a subnet id", subnet, "subnet-...")
    if spec.network.endpoints:
        yield Problem(
            "network.endpoints",
            "VPC endpoints are created only in a VPC this stack creates; an existing VPC's routing is its owner's",
            list(spec.network.endpoints),
            "set endpoints: [] (and create them with the VPC)",
        )


@rule("eks-addons")
def eks_addons(spec: StackSpec) -> Iterator[Problem]:
    """Explicit add-on pins must be EKS builds; kube-proxy follows the cluster's minor (EKS kube-proxy versioning)."""
    k8s = spec.cluster.kubernetes_version
    for addon, version in sorted(spec.cluster.addon_versions.items()):
        at = f"cluster.addonVersions.{addon}"
        fix = (
            f"pin a version EKS lists (aws eks describe-addon-versions --addon-name {addon} --kubernetes-version "
            f"{k8s}), or drop the pin to resolve it at deploy time"
        )
        if not EKS_BUILD.match(version):
            yield Problem(at, "is not an EKS add-on build (vX.Y.Z-eksbuild.N)", version, fix)
        elif addon == "kube-proxy" and not version.startswith(f"v{k8s}."):
            yield Problem(
                at,
                f"kube-proxy must match the cluster's Kubernetes minor {k8s}",
                version,
                f"pin a v{k8s}.x-eksbuild.N version (aws eks describe-addon-versions --addon-name kube-proxy "
                f"--kubernetes-version {k8s}), or drop the pin to resolve it at deploy time",
            )


@rule("cluster-access")
def cluster_access(spec: StackSpec) -> Iterator[Problem]:
    """Access entries, not the creator's invisible bootstrap admin (issue 19 item 7)."""
    cluster = spec.cluster
    if cluster.provider != "aws":
        return
    admins = [e for e in cluster.access_entries if e.policy == "cluster-admin"]
    explicit = cluster.bootstrap_cluster_creator_admin_permissions
    if explicit is False and not admins:
        yield Problem(
            "cluster.bootstrapClusterCreatorAdminPermissions",
            "with the creator's admin off, nobody can administer the cluster, and `pulumi up` itself is locked out "
            "of the Kubernetes API",
            False,
            "add an accessEntries item with policy: cluster-admin for the role that runs `pulumi up`",
        )
    if explicit is True and admins:
        yield Problem(
            "cluster.bootstrapClusterCreatorAdminPermissions",
            "leaves whoever created the cluster a permanent, invisible cluster admin next to the declared "
            "cluster-admin entries",
            True,
            "drop it (off when a cluster-admin access entry exists); set at creation only, changing it replaces the "
            "cluster",
        )


@rule("ec2-instance-types")
def real_instance_types(spec: StackSpec) -> Iterator[Problem]:
    """Every EC2 instance type the stack names exists (the pulumi-aws SDK's InstanceType enum)."""
    if spec.cluster.provider != "aws":
        return
    t = spec.cluster.system_nodes.instance_type
    known = ec2_instance_types()
    if t not in known:
        close = sorted(x for x in known if x.split(".")[0] == t.split(".")[0])[:8]
        yield Problem(
            "cluster.systemNodes.instanceType",
            "is not an EC2 instance type",
            t,
            f"use one of {close}" if close else "use an EC2 instance type (e.g. m7i.2xlarge)",
        )


@rule("capacity-block-window")
def capacity_block_window(spec: StackSpec) -> Iterator[Problem]:
    """Capacity-block pools start empty and follow their block's window (EKS "Capacity Blocks for ML" with managed
    node groups: desired 0 until the block is active and for updates; scale in > 30 min before the end)."""
    for i, pool in enumerate(spec.gpu_pools):
        cap, at = pool.capacity, f"gpuPools[{i}]"
        if cap.type != "capacity-block":
            for key, value in (("start", cap.start), ("end", cap.end)):
                if value is not None:
                    yield Problem(
                        f"{at}.capacity.{key}",
                        f"is a capacity-block window; this pool is {cap.type}",
                        str(value),
                        "remove it, or set type: capacity-block",
                    )
            continue
        if pool.nodes.min != 0 or pool.nodes.resolved_desired != 0:
            yield Problem(
                f"{at}.nodes.min",
                "a capacity-block pool is created empty and scaled by its window's scheduled actions (EKS needs "
                "desired 0 until the block is active and for node group updates)",
                pool.nodes.min if pool.nodes.min else pool.nodes.resolved_desired,
                "set min: 0 (and no desired); nodes.max is the block's instance count",
            )
        for key, value in (("start", cap.start), ("end", cap.end)):
            if value is None:
                yield Problem(
                    f"{at}.capacity.{key}",
                    f"a capacity-block pool needs its block's {key} time",
                    None,
                    "copy it from `aws ec2 describe-capacity-reservations --capacity-reservation-ids "
                    f"{cap.reservation_id or 'cr-...'}` ({'StartDate' if key == 'start' else 'EndDate'})",
                )
        if cap.start is not None and cap.end is not None:
            scale_in = cap.end - timedelta(minutes=cap.scale_in_minutes_before_end)
            if scale_in <= cap.start:
                yield Problem(
                    f"{at}.capacity.end",
                    f"the pool would scale in ({cap.scale_in_minutes_before_end} min before the end) before the "
                    "block starts",
                    str(cap.end),
                    "check start/end against the reservation, or lower scaleInMinutesBeforeEnd",
                )
