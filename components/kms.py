"""Customer-managed KMS keys of the stack: one builder, so every key is rotated, protected and aliased alike."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.context import PlatformContext

DELETION_WINDOW_DAYS = 30  # the longest AWS allows: a mistaken delete can be cancelled for a month


def protected_key(
    ctx: PlatformContext,
    parent: pulumi.Resource,
    name: str,
    description: str,
    alias: str,
    alias_resource: str,
    policy: pulumi.Input[str] | None = None,
) -> aws.kms.Key:
    """A rotated, protected KMS key and its alias (`alias` without the `alias/` prefix). Without `policy` the key
    gets KMS's default key policy (the account administers it through IAM)."""
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        policy=policy,
        opts=ctx.aws_opts(parent, protect=True),
    )
    aws.kms.Alias(alias_resource, name=f"alias/{alias}", target_key_id=key.key_id, opts=ctx.aws_opts(parent))
    return key
