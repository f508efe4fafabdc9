"""Layers that break the composition on purpose: one fails while registering (the CLI's program-failure path), one
returns another layer's outputs."""

from __future__ import annotations

import pulumi

from components.context import PlatformContext
from components.outputs import FabricOutputs


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    raise RuntimeError("layer exploded on purpose")


def foreign_outputs(ctx: PlatformContext, parent: pulumi.Resource) -> FabricOutputs:
    return FabricOutputs()
