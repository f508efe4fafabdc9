"""A layer that fails while registering, for the CLI's program-failure path."""

from __future__ import annotations

import pulumi

from components.platform import PlatformContext


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    raise RuntimeError("layer exploded on purpose")
