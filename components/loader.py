"""One loader for both runs: `Pulumi.<stack>.yaml` offline and `pulumi.Config` under `pulumi up`.

Both paths build the same mapping `{top-level key: value}` and go through `spec_from_mapping`, which gathers every
field error and every rule problem before reporting, each addressed by its key path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from components.rules import Problem, check_spec
from components.spec import SECRET_KEYS, TOP_LEVEL_KEYS, StackSpec

NAMESPACE = "inference-ra"
STACKS_DIR = Path(__file__).resolve().parent.parent / "stacks"


class SpecError(Exception):
    """The stack's config is wrong; `problems` lists everything found, in key-path order."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(p.render() for p in problems))


@dataclass(frozen=True)
class StackFile:
    """A parsed `Pulumi.<stack>.yaml`: the stack's name, its file and its raw config."""

    name: str
    path: Path
    config: dict[str, Any]
    secrets: frozenset[str] = field(default_factory=frozenset)  # config keys given as `secure:`

    @property
    def region(self) -> str | None:
        value = self.config.get("aws:region")
        return value if isinstance(value, str) else None

    def project_config(self) -> dict[str, Any]:
        """The `inference-ra:` keys without namespace (secure values left out)."""
        prefix = NAMESPACE + ":"
        return {k[len(prefix) :]: v for k, v in self.config.items() if k.startswith(prefix) and k not in self.secrets}


def resolve_stack_path(stack: str, stacks_dir: Path = STACKS_DIR) -> tuple[str, Path]:
    """STACK is a name (-> stacks/Pulumi.<STACK>.yaml) or a path to such a file."""
    candidate = Path(stack)
    if candidate.suffix in (".yaml", ".yml") or "/" in stack:
        name = candidate.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
        return name, candidate
    return stack, stacks_dir / f"Pulumi.{stack}.yaml"


def available_stacks(stacks_dir: Path = STACKS_DIR) -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stacks_dir.glob("Pulumi.*.yaml"))


def read_stack_file(stack: str, stacks_dir: Path = STACKS_DIR) -> StackFile:
    name, path = resolve_stack_path(stack, stacks_dir)
    if not path.is_file():
        known = ", ".join(available_stacks(stacks_dir)) or "none"
        raise SpecError([Problem("(stack)", f"unknown stack: no file {path}", stack, f"known stacks: {known}")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem("(stack)", f"cannot read {path}: {exc}", stack, "check the file")]) from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            [Problem("(yaml)", f"malformed YAML in {path}{where}: {problem}", fix="fix the syntax")]
        ) from exc
    if doc is None:
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise SpecError([Problem("(yaml)", f"{path} must be a mapping with a `config:` mapping", type(doc).__name__)])
    config = dict(doc.get("config") or {})
    secrets = frozenset(k for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"})
    return StackFile(name=name, path=path, config=config, secrets=secrets)


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("<"):  # discriminator tags of key-or-object fields
            continue
        else:
            out += ("." if out else "") + part
    return out


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors(include_url=False):
        path = _loc_to_path(e["loc"]) or "(root)"
        msg = e["msg"]
        fix = ""
        if e["type"] == "extra_forbidden":
            msg, fix = "unknown key", "remove it or fix its spelling (`inference-ra schema` lists the keys)"
        elif e["type"] == "missing":
            msg, fix = "required key is missing", "add it"
        elif e["type"] == "literal_error":
            fix = "use one of the allowed values"
        if e["type"] == "missing":
            problems.append(Problem(path, msg, fix=fix))
        else:
            problems.append(Problem(path, msg, e.get("input"), fix))
    return problems


def spec_from_mapping(data: Mapping[str, Any], *, region: str | None = None, source: str = "") -> StackSpec:
    """Validate a `{top-level key: value}` mapping into a StackSpec; raise SpecError with every problem."""
    problems = [
        Problem(key, "unknown top-level key", fix=f"use one of {', '.join(TOP_LEVEL_KEYS)}")
        for key in sorted(data)
        if key not in TOP_LEVEL_KEYS and key not in SECRET_KEYS
    ]
    body = {k: v for k, v in data.items() if k in TOP_LEVEL_KEYS}
    try:
        spec = StackSpec.model_validate(body)
    except ValidationError as exc:
        raise SpecError(problems + _pydantic_problems(exc), source) from None
    from serving.planner.sizing import apply_auto_sizing  # `sizing: auto` models, before the rules check them

    spec, sizing_problems = apply_auto_sizing(spec)
    problems += sizing_problems
    problems += check_spec(spec)
    if spec.cluster.provider == "aws" and not region:
        problems.append(Problem("(aws:region)", "an aws cluster needs `aws:region` in the stack config", fix="set it"))
    elif spec.cluster.provider == "aws" and region:
        problems += region_problems(spec, region)
    if problems:
        raise SpecError(problems, source)
    return spec


def region_problems(spec: StackSpec, region: str) -> list[Problem]:
    """`aws:region` is a real region (the pulumi-aws SDK's Region enum) and every zone of the spec lies in it."""
    from components.catalog.regions import aws_regions, region_of_zone

    if region not in aws_regions():
        return [Problem("(aws:region)", "is not an AWS region", region, f"use one of {sorted(aws_regions())}")]
    zones = [(f"network.availabilityZones[{i}]", z) for i, z in enumerate(spec.network.availability_zones)]
    zones += [
        (f"gpuPools[{i}].availabilityZone", p.availability_zone)
        for i, p in enumerate(spec.gpu_pools)
        if p.availability_zone
    ]
    return [
        Problem(at, f"is not a zone of region {region}", zone, f"use {region}a, {region}b, ... or change aws:region")
        for at, zone in zones
        if region_of_zone(zone) != region
    ]


def spec_from_stack_file(stack_file: StackFile) -> StackSpec:
    return spec_from_mapping(stack_file.project_config(), region=stack_file.region, source=str(stack_file.path))


def spec_from_pulumi_config() -> StackSpec:
    """The `pulumi up` path: the same keys read through pulumi.Config."""
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    data = {key: value for key in TOP_LEVEL_KEYS if (value := cfg.get_object(key)) is not None}
    region = pulumi.Config("aws").get("region")
    return spec_from_mapping(data, region=region, source=f"stack {pulumi.get_stack()}")
