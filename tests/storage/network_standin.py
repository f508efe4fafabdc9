"""Test stand-in: pins the network and compute layers' handles to known values just before the storage layer.

It sets exactly the handles their contracts promise, with values shaped like theirs; the storage layer under test is
the real one, so its assertions can name exact ids.
"""

from __future__ import annotations

import pulumi

from components.platform import PlatformContext


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    ctx.handles["vpc_id"] = "vpc-0123456789abcdef0"
    ctx.handles["private_subnet_ids"] = ["subnet-0aaa", "subnet-0bbb"]
    ctx.handles["subnet_ids_by_az"] = {"us-east-2a": "subnet-0aaa", "us-east-2b": "subnet-0bbb"}
    ctx.handles["efa_security_group_id"] = "sg-0efa"
    ctx.handles["oidc_provider_arn"] = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/ABC"
    ctx.handles["oidc_issuer"] = "https://oidc.eks.us-east-2.amazonaws.com/id/ABC"
