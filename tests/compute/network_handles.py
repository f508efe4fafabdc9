"""A stand-in for the network layer: only its outputs contract (`NetworkOutputs`), with fixed ids, so tests can
check that the cluster and compute layers use them."""

from __future__ import annotations

import pulumi

from components.context import PlatformContext
from components.outputs import NetworkOutputs

SUBNETS = {"us-east-2a": "subnet-0aaa", "us-east-2b": "subnet-0bbb"}
EFA_SG = "sg-0efa"


def build(ctx: PlatformContext, parent: pulumi.Resource) -> NetworkOutputs:
    azs = ctx.spec.network.availability_zones
    ids = {az: pulumi.Output.from_input(SUBNETS[az]) for az in azs}
    return NetworkOutputs(
        vpc_id=pulumi.Output.from_input("vpc-0test"),
        private_subnet_ids=tuple(ids[az] for az in azs),
        subnet_ids_by_az=ids,
        efa_security_group_id=pulumi.Output.from_input(EFA_SG),
    )
