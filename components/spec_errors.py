"""Pydantic's validation errors as Problems: key paths in YAML form (`serving.models[0].decode`), "did you mean"
for misspelled keys and literal values, a quoting hint for numbers YAML read where a string belongs."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from components.rules import Problem, did_you_mean
from components.spec import StackSpec


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("<") or part == "[key]":  # discriminator tags; a dict key's own error
            continue
        else:
            out += ("." if out else "") + part
    return out


def pydantic_problems(err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors(include_url=False):
        path = _loc_to_path(e["loc"]) or "(root)"
        msg = e["msg"].removeprefix("Value error, ")
        if "[key]" in e["loc"]:
            msg = f"key {msg}"
        fix = ""
        got = e.get("input")
        if e["type"] == "extra_forbidden":
            hint = did_you_mean(str(e["loc"][-1]), field_names_at(e["loc"][:-1]))
            msg = "unknown key"
            fix = f"{hint}; otherwise remove it" if hint else "remove it or fix its spelling"
            fix += " (`inference-ra schema` lists the keys)"
        elif e["type"] == "missing":
            msg, fix = "required key is missing", "add it"
        elif e["type"] == "literal_error":
            fix = did_you_mean(str(got), _literal_choices(msg)) or "use one of the allowed values"
        elif e["type"] == "string_type" and isinstance(got, int | float) and not isinstance(got, bool):
            fix = f'YAML read an unquoted number; write it in quotes (e.g. "{_quoted_guess(path, got)}")'
        elif e["type"] == "finite_number":
            fix = "use a finite number (.inf and .nan are not sizes, counts or latencies)"
        if e["type"] == "missing":
            problems.append(Problem(path, msg, fix=fix))
        else:
            problems.append(Problem(path, msg, got, fix))
    return problems


def _quoted_guess(path: str, got: float) -> str:
    """`kubernetesVersion: 1.30` arrives as 1.3: suggest the two-digit minor a version key means."""
    if path.endswith("kubernetesVersion") and isinstance(got, float):
        major, _, minor = f"{got}".partition(".")
        return f"{major}.{minor.ljust(2, '0')}"
    return f"{got}"


def _literal_choices(msg: str) -> list[str]:
    return [m.strip("'") for m in msg.replace("Input should be ", "").replace(" or ", ", ").split(", ")]


def field_names_at(loc: tuple[int | str, ...]) -> list[str]:
    """The YAML keys a spec model accepts at `loc` (for "did you mean")."""
    annotation: Any = StackSpec
    for part in loc:
        model = _model_in(annotation)
        if isinstance(part, int) or (isinstance(part, str) and part.startswith("<")):
            annotation = _item_type(annotation)
            continue
        if model is None:
            return []
        field_info = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        if field_info is None:
            return []
        annotation = field_info.annotation
    model = _model_in(annotation)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (model := _model_in(arg)) is not None and typing.get_origin(annotation) is not list:
            return model
    return None


def _item_type(annotation: Any) -> Any:
    """The element type of list[X] / dict[str, X] (through Optional and Annotated)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, dict):
        return args[-1]
    for arg in args:
        if typing.get_origin(arg) in (list, dict) or isinstance(arg, type):
            found = _item_type(arg)
            if found is not None:
                return found
    return annotation
