"""YAML as the Pulumi CLI reads stack files: a duplicated mapping key is an error, not "the last one wins".

The Pulumi CLI parses `Pulumi.<stack>.yaml` with gopkg.in/yaml.v3, which rejects a mapping that repeats a key
("mapping key "x" already defined at line N"); PyYAML's safe loader silently keeps the last value. This loader
is PyYAML's SafeLoader with that one check added, so `synth` rejects what `pulumi up` rejects.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(ConstructorError):
    """A mapping that repeats a key."""


class UniqueKeyLoader(_Base):  # type: ignore[misc]
    """SafeLoader that rejects duplicated keys in any mapping (with both lines in the message)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {first}): Pulumi rejects a repeated key; keep one",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def safe_load_unique(text: str) -> Any:
    return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
