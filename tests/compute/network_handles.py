"""A stand-in for the network layer's handles (the fabric engineer's `network` layer is not on this branch):
only the documented handle contract, with fixed ids, so tests can check that compute uses them."""

from __future__ import annotations

import pulumi

from components.platform import PlatformContext

SUBNETS = {"us-east-2a": "subnet-0aaa", "us-east-2b": "subnet-0bbb"}
EFA_SG = "sg-0efa"


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    azs = ctx.spec.network.availability_zones
    ctx.handles["private_subnet_ids"] = [SUBNETS[az] for az in azs]
    ctx.handles["subnet_ids_by_az"] = {az: SUBNETS[az] for az in azs}
    ctx.handles["vpc_id"] = "vpc-0test"
    ctx.handles["efa_security_group_id"] = EFA_SG
