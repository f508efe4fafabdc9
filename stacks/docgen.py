"""docs/config.md: the config reference, generated from the spec's field descriptions (one source of truth).

`python -m stacks.docgen` rewrites it; a test fails when it is stale.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.spec import TOP_LEVEL_KEYS, StackSpec

DOC = Path(__file__).resolve().parent.parent / "docs" / "config.md"


def _models_in(annotation: typing.Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def _type_name(annotation: typing.Any) -> str:
    """A readable type: `str or ExplicitArchitecture`, `list[int]`, `'aws' or 'existing'`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is typing.Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default is not PydanticUndefined:
        return "" if field.default is None else f"`{field.default!r}`"
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return ""
        return "" if isinstance(value, BaseModel) else f"`{value!r}`"
    return "**required**"


def _section(model: type[BaseModel], path: str, seen: set[str]) -> list[str]:
    lines = [f"### `{path}`", "", "| key | type | default | description |", "|---|---|---|---|"]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        lines.append(
            f"| `{key}` | `{_type_name(field.annotation)}` | {_default(field)} | "
            f"{(field.description or '').replace('|', '/')} |"
        )
        for sub in _models_in(field.annotation):
            is_list = typing.get_origin(field.annotation) is list
            nested.append((f"{path}.{key}{'[]' if is_list else ''}", sub))
    lines.append("")
    for sub_path, sub in nested:
        if sub_path not in seen:
            seen.add(sub_path)
            lines += _section(sub, sub_path, seen)
    return lines


def render() -> str:
    lines = [
        "# Stack config reference",
        "",
        "Generated from the spec's field descriptions by `python -m stacks.docgen` — do not edit by hand.",
        "Every key lives under the `inference-ra:` namespace of `stacks/Pulumi.<stack>.yaml`; camelCase; unknown",
        "keys are errors. `inference-ra schema` prints the same as JSON Schema.",
        "",
    ]
    seen: set[str] = set()
    for key in TOP_LEVEL_KEYS:
        field = next(f for f in StackSpec.model_fields.values() if f.alias == key)
        lines.append(f"## `{key}`")
        lines.append("")
        lines.append(field.description or "")
        lines.append("")
        for model in _models_in(field.annotation):
            lines += _section(model, key + ("[]" if typing.get_origin(field.annotation) is list else ""), seen)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC}\n")
