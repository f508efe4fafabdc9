"""AWS regions and availability-zone names.

Regions: the `Region` enum pulumi-aws ships (pulumi_aws/_enums.py, "any valid Amazon region that may be targeted
with deployments"), so the list moves with the provider version we pin. Zone names follow the AWS form documented in
"Regions and Zones" (AWS EC2 user guide): the region name plus one letter (us-east-2a), or for a Local Zone the
region, a location code and a number plus a letter (us-west-2-lax-1a). Zone *ids* (use2-az1) are not zone names.
"""

from __future__ import annotations

import re
from functools import cache


@cache
def aws_regions() -> tuple[str, ...]:
    from pulumi_aws import Region

    return tuple(sorted(r.value for r in Region))


class _Regions:
    """Lazy container: importing pulumi_aws only when an aws stack asks."""

    def __contains__(self, item: object) -> bool:
        return item in aws_regions()

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(aws_regions())


AWS_REGIONS = _Regions()


def zone_problem(zone: str, region: str) -> str | None:
    """Why `zone` is not an availability zone of `region`, or None when it is."""
    if re.fullmatch(rf"{re.escape(region)}[a-z]", zone) or re.fullmatch(rf"{re.escape(region)}-[a-z]+-\d+[a-z]", zone):
        return None
    if re.fullmatch(r"[a-z]{2,4}\d?-az\d+", zone):
        return "is a zone id; give the zone name"
    return f"is not an availability zone of region {region}"


@cache
def ec2_instance_types() -> frozenset[str]:
    """EC2 instance type names the pulumi-aws SDK knows (`pulumi_aws.ec2.InstanceType`, generated from the AWS
    provider schema): a newer type arrives with a pulumi-aws upgrade (pyproject.toml)."""
    from pulumi_aws.ec2 import InstanceType

    return frozenset(t.value for t in InstanceType)
