"""What exists on AWS, as data: EC2 instance types and regions, from the pulumi-aws SDK this project pins.

The pulumi-aws package ships both lists as enums generated from the AWS provider schema
(`pulumi_aws.ec2.InstanceType`, `pulumi_aws.Region`), so a name checked here is one the provider itself knows; a
newer type or region arrives with a pulumi-aws upgrade (pyproject.toml). Loaded on first use: a stack on an existing
cluster never imports pulumi_aws for its spec checks.
"""

from __future__ import annotations

from functools import cache


@cache
def ec2_instance_types() -> frozenset[str]:
    from pulumi_aws.ec2 import InstanceType

    return frozenset(t.value for t in InstanceType)


@cache
def aws_regions() -> frozenset[str]:
    from pulumi_aws import Region

    return frozenset(r.value for r in Region)


def region_of_zone(zone: str) -> str:
    """The region of an availability zone name (`us-east-2a` -> `us-east-2`; local zones such as
    `us-west-2-lax-1a` -> `us-west-2`)."""
    parts = zone.split("-")
    if len(parts) >= 3 and parts[2][:1].isdigit():
        return "-".join([parts[0], parts[1], parts[2].rstrip("abcdefghijklmnopqrstuvwxyz")])
    return zone.rstrip("abcdefghijklmnopqrstuvwxyz")
