"""Test stand-ins: the network layer's outputs and the cluster layer's OIDC provider pinned to known values.

`network` replaces the network layer with exactly its outputs contract; `cluster` runs the real cluster layer and
replaces only the OIDC provider in its outputs. The storage layer under test is the real one, so its assertions can
name exact ids.
"""

from __future__ import annotations

import dataclasses

import pulumi

from components.context import PlatformContext
from components.outputs import ClusterOutputs, NetworkOutputs
from gpu_nodepools import cluster as cluster_layer

OIDC_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/ABC"
OIDC_ISSUER = "https://oidc.eks.us-east-2.amazonaws.com/id/ABC"


def network(ctx: PlatformContext, parent: pulumi.Resource) -> NetworkOutputs:
    by_az = {
        az: pulumi.Output.from_input(i) for az, i in (("us-east-2a", "subnet-0aaa"), ("us-east-2b", "subnet-0bbb"))
    }
    return NetworkOutputs(
        vpc_id=pulumi.Output.from_input("vpc-0123456789abcdef0"),
        private_subnet_ids=tuple(by_az.values()),
        subnet_ids_by_az=by_az,
        efa_security_group_id=pulumi.Output.from_input("sg-0efa"),
    )


def cluster(ctx: PlatformContext, parent: pulumi.Resource) -> ClusterOutputs:
    real = cluster_layer.build(ctx, parent)
    assert real.eks is not None
    eks = dataclasses.replace(
        real.eks,
        oidc_provider_arn=pulumi.Output.from_input(OIDC_ARN),
        oidc_issuer=pulumi.Output.from_input(OIDC_ISSUER),
    )
    return dataclasses.replace(real, eks=eks)
