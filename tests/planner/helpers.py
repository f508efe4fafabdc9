"""Spec builders for the planner tests: a shipped stack's config, edited, as a StackFile or a StackSpec."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from components.loader import StackFile, read_stack_file, spec_from_stack_file
from components.spec import StackSpec


def config(stack: str) -> dict[str, Any]:
    return copy.deepcopy(read_stack_file(stack).config)


def stack_file(cfg: dict[str, Any], name: str = "test") -> StackFile:
    return StackFile(name=name, path=Path(f"/tmp/Pulumi.{name}.yaml"), config=cfg)


def spec(cfg: dict[str, Any]) -> StackSpec:
    return spec_from_stack_file(stack_file(cfg))
