"""Base model of every spec object: camelCase keys in YAML, unknown keys rejected, immutable once loaded."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class SpecModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        use_attribute_docstrings=False,
        validate_default=True,
        allow_inf_nan=False,  # .inf / .nan are never a size, count, rate or latency
    )


def key_or_object(value: Any) -> str:
    """Discriminator of fields that take a catalog key (string) or an explicit object.

    Discriminating by Python type makes a bad object report only its own errors, not also "not a string"; the
    bracketed tags are dropped from error paths by the loader.
    """
    return "<key>" if isinstance(value, str) else "<object>"
