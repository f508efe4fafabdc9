"""One loader for both runs: `Pulumi.<stack>.yaml` offline and `pulumi.Config` under `pulumi up`.

Both paths build the same mapping `{top-level key: value}` and go through `spec_from_mapping`, which gathers every
field error and every rule problem before reporting, each addressed by its key path.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from components.layering import LAYER_KEY, LAYER_KEYS, LAYER_STACKS, SPEC_STACK_KEY, LayerSelection
from components.rules import Problem, check_spec, did_you_mean, internal_problem
from components.spec import SECRET_KEYS, TOP_LEVEL_KEYS, StackSpec
from components.spec_errors import pydantic_problems
from components.yaml_load import DuplicateKeyError, safe_load_unique

NAMESPACE = "inference-ra"
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")  # Pulumi's stack name rule (pkg/tokens ValidateStackName)
STACKS_DIR = Path(__file__).resolve().parent.parent / "stacks"


class SpecError(Exception):
    """The stack's config is wrong; `problems` lists everything found, in key-path order."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(p.render() for p in problems))

    @property
    def internal(self) -> bool:
        """A check itself failed (a bug in inference-ra, reported with the check's name), not only the config."""
        return any(p.internal for p in self.problems)


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


# Top-level keys Pulumi itself writes into a stack file (pulumi/pulumi sdk/go/common/workspace/project.go,
# ProjectStack): anything else at the top level is a misplaced config key or a typo.
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, DuplicateKeyError):
        return Problem("(yaml)", f"{path}{where}: {problem}")
    return Problem("(yaml)", f"malformed YAML in {path}{where}: {problem}", fix="fix the syntax")


def _shape_problems(path: Path, doc: Any) -> list[Problem]:
    """What is wrong with the document's top level (before any key is validated)."""
    if doc is None:
        return [Problem("(yaml)", f"{path} is empty", fix="add `config:` with the `inference-ra:` keys")]
    if not isinstance(doc, dict):
        return [Problem("(yaml)", f"{path} must be a mapping with a `config:` mapping", _kind(doc))]
    problems = []
    for key in sorted(str(k) for k in doc if str(k) not in STACK_FILE_KEYS):
        if ":" in key:
            problems.append(Problem(key, "is outside `config:`", fix="indent it under `config:`"))
        else:
            problems.append(
                Problem(
                    "(yaml)",
                    f"unknown top-level key {key!r} of a stack file",
                    fix=did_you_mean(key, STACK_FILE_KEYS) or f"Pulumi knows {', '.join(STACK_FILE_KEYS)}",
                )
            )
    if "config" not in doc:
        problems.append(Problem("(yaml)", f"{path} has no `config:` mapping", fix="add `config:` with the keys"))
    elif not isinstance(doc["config"], dict):
        problems.append(Problem("(yaml)", "`config:` must be a mapping of config keys", _kind(doc["config"]), "fix it"))
    return problems


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {"list": "a list", "str": "a string", "int": "a number", "float": "a number", "bool": "a boolean"}.get(
        type(value).__name__, type(value).__name__
    )


def _namespaced(config: dict[Any, Any]) -> dict[str, Any]:
    """Config keys as Pulumi reads them: a key without a namespace belongs to the project (pulumi/pulumi
    sdk/go/common/workspace/loaders.go, stackConfigNamespacedWithProject)."""
    return {(str(k) if ":" in str(k) else f"{NAMESPACE}:{k}"): v for k, v in config.items()}


def read_stack_file(stack: str, stacks_dir: Path = STACKS_DIR) -> StackFile:
    name, path = resolve_stack_path(stack, stacks_dir)
    if not STACK_NAME.match(name) or name in (".", ".."):
        raise SpecError([Problem("(stack)", "not a valid stack name", name, "use letters, digits, `-`, `_`, `.`")])
    if not path.is_file():
        known = available_stacks(stacks_dir)
        hint = did_you_mean(name, known)
        fix = f"{hint}; " if hint else ""
        raise SpecError(
            [
                Problem(
                    "(stack)",
                    f"unknown stack: no file {path}",
                    stack,
                    f"{fix}known stacks: {', '.join(known) or 'none'}",
                )
            ]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem("(stack)", f"cannot read {path}: {exc}", stack, "check the file")]) from exc
    try:
        doc = safe_load_unique(text)
    except yaml.YAMLError as exc:
        raise SpecError([_yaml_problem(path, exc)], str(path)) from None
    problems = _shape_problems(path, doc)
    if problems:
        raise SpecError(problems, str(path))
    config = _namespaced(doc.get("config") or {})
    secrets = frozenset(k for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"})
    return StackFile(name=name, path=path, config=config, secrets=secrets)


MAX_EXACT_INT = 2**53  # the engine carries numbers as protobuf doubles: integers beyond this lose digits


def number_problems(value: Any, path: str = "") -> list[Problem]:
    """`.inf` / `.nan`, and integers the engine cannot carry exactly, anywhere in the config (also where a field
    takes free-form values, e.g. policy.config)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [Problem(path or "(root)", "must be a finite number", value, "use a finite number")]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_EXACT_INT:
        return [
            Problem(
                path or "(root)",
                "is beyond 2^53, the largest integer the Pulumi engine carries exactly (its numbers are doubles)",
                value,
                "use a realistic value",
            )
        ]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in number_problems(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in number_problems(v, f"{path}[{i}]")]
    return []


def _top_level_problems(data: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for key in sorted(data):
        if key in TOP_LEVEL_KEYS or key in SECRET_KEYS:
            continue
        hint = did_you_mean(key, [*TOP_LEVEL_KEYS, *SECRET_KEYS])
        problems.append(
            Problem(
                key,
                "unknown top-level key",
                fix=f"use one of {', '.join(TOP_LEVEL_KEYS)}" + (f"; {hint}" if hint else ""),
            )
        )
    return problems


def _guarded_sizing(spec: StackSpec) -> tuple[StackSpec, list[Problem]]:
    from serving.planner.sizing import apply_auto_sizing  # `sizing: auto` models, before the rules check them

    try:
        return apply_auto_sizing(spec)
    except Exception as exc:  # a planner bug must not become a traceback
        return spec, [internal_problem("sizing auto (serving/planner/sizing.py)", exc)]


def spec_from_mapping(data: Mapping[str, Any], *, region: str | None = None, source: str = "") -> StackSpec:
    """Validate a `{top-level key: value}` mapping into a StackSpec; raise SpecError with every problem."""
    problems = _top_level_problems(data)
    body = {k: v for k, v in data.items() if k in TOP_LEVEL_KEYS}
    non_finite = number_problems(body)
    problems += non_finite
    try:
        spec = StackSpec.model_validate(body)
    except ValidationError as exc:
        seen = {p.path for p in non_finite}
        raise SpecError(problems + [p for p in pydantic_problems(exc) if p.path not in seen], source) from None
    if non_finite:  # rules compute with these numbers: stop before they run
        raise SpecError(problems, source)
    spec, sizing_problems = _guarded_sizing(spec)
    problems += sizing_problems
    problems += check_spec(spec)
    problems += region_problems(spec, region)
    if problems:
        raise SpecError(sorted(problems, key=lambda p: (p.path, p.message)), source)
    return spec


def region_problems(spec: StackSpec, region: str | None) -> list[Problem]:
    """`aws:region` is a real AWS region (pulumi_aws.Region) and every AZ belongs to it."""
    if spec.cluster.provider != "aws":
        return []
    if not region:
        return [Problem("(aws:region)", "an aws cluster needs `aws:region` in the stack config", fix="set it")]
    from components.catalog.regions import AWS_REGIONS, zone_problem

    if region not in AWS_REGIONS:
        hint = did_you_mean(region, AWS_REGIONS)
        return [Problem("(aws:region)", "is not an AWS region", region, hint or "use a region name like us-east-2")]
    problems = []
    for i, zone in enumerate(spec.network.availability_zones):
        if (why := zone_problem(zone, region)) is not None:
            problems.append(Problem(f"network.availabilityZones[{i}]", why, zone, f"use {region}a, {region}b, ..."))
    for i, pool in enumerate(spec.gpu_pools):
        if pool.availability_zone and (why := zone_problem(pool.availability_zone, region)) is not None:
            problems.append(Problem(f"gpuPools[{i}].availabilityZone", why, pool.availability_zone))
    return problems


def config_key_problems(stack_file: StackFile) -> list[Problem]:
    """Keys outside the spec's top level: namespaces that look like a typo of ours, secrets given in plain text,
    and `secure:` values on keys that are not secrets."""
    problems = []
    for key in sorted(stack_file.config):
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            if _looks_like_ours(namespace):
                problems.append(
                    Problem(
                        f"({key})", f"unknown config namespace {namespace!r}", fix=f"did you mean `{NAMESPACE}:{name}`?"
                    )
                )
            continue
        secret = key in stack_file.secrets
        if name in SECRET_KEYS and not secret:
            problems.append(
                Problem(
                    name,
                    "is a credential and must be a Pulumi secret, not plain text in the stack file",
                    fix=f"remove it and run `pulumi config set --secret {NAMESPACE}:{name} ...`",
                )
            )
        elif secret and name not in SECRET_KEYS:
            problems.append(
                Problem(name, "is given as a secret, but only these keys may be secrets", fix=", ".join(SECRET_KEYS))
            )
    return problems


def _looks_like_ours(namespace: str) -> bool:
    squashed = "".join(c for c in namespace.lower() if c.isalnum())
    return squashed == "inferencera" or difflib.SequenceMatcher(None, namespace, NAMESPACE).ratio() >= 0.75


def spec_from_stack_file(stack_file: StackFile) -> StackSpec:
    key_problems = config_key_problems(stack_file)
    try:
        spec = spec_from_mapping(stack_file.project_config(), region=stack_file.region, source=str(stack_file.path))
    except SpecError as exc:
        raise SpecError(sorted(key_problems + exc.problems, key=lambda p: (p.path, p.message)), exc.source) from None
    if key_problems:
        raise SpecError(key_problems, str(stack_file.path))
    return spec


def pulumi_config_bag() -> tuple[dict[str, Any], frozenset[str]]:
    """The whole config the program was given (every namespace), and which keys are secrets.

    Under `pulumi up` the language host hands the program its config as the JSON map in PULUMI_CONFIG (and the
    secret keys in PULUMI_CONFIG_SECRET_KEYS); the SDK's mocks and tests set it with set_all_config. Object values
    arrive JSON-encoded (pulumi.Config.get_object decodes them the same way).
    """
    from pulumi.runtime import config as runtime_config

    bag: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = set(runtime_config.get_config_secret_keys_env()) | {k for k in bag if runtime_config.is_config_secret(k)}
    return {k: _decode_config_value(v) for k, v in bag.items()}, frozenset(secret)


def _decode_config_value(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def layer_selection(stack_file: StackFile) -> LayerSelection | None:
    """The layer stack a stack file names (`inference-ra:layer` + `inference-ra:specStack`, components/layering.py),
    None for a one-stack file. A layer stack file holds no spec key (the spec is the base stack's file): anything
    but those two keys and secrets is a problem, reported with its key path."""
    config = stack_file.project_config()
    if not any(key in config for key in LAYER_KEYS):
        return None
    layer, spec_stack = config.get(LAYER_KEY), config.get(SPEC_STACK_KEY)
    problems = []
    if layer is None:
        problems.append(Problem(LAYER_KEY, "is missing: a stack with `specStack` is a layer stack", fix=_LAYERS_FIX))
    elif layer not in LAYER_STACKS:
        problems.append(Problem(LAYER_KEY, "is not a layer stack", layer, _LAYERS_FIX))
    if spec_stack is None:
        problems.append(Problem(SPEC_STACK_KEY, "is missing: a layer stack reads the spec of another", fix=_BASE))
    elif not isinstance(spec_stack, str) or not STACK_NAME.match(spec_stack) or spec_stack in (".", ".."):
        problems.append(Problem(SPEC_STACK_KEY, "is not a stack name", spec_stack, _BASE))
    elif spec_stack == stack_file.name:
        problems.append(Problem(SPEC_STACK_KEY, "names this layer stack itself", spec_stack, _BASE))
    for key in sorted(k for k in config if k not in LAYER_KEYS):
        problems.append(
            Problem(
                key,
                "is a spec key in a layer stack file: the spec lives in the base stack's file only",
                fix=f"move it to stacks/Pulumi.{spec_stack}.yaml",
            )
        )
    problems += config_key_problems(stack_file)
    if problems:
        raise SpecError(sorted(problems, key=lambda p: (p.path, p.message)), str(stack_file.path))
    return LayerSelection(layer=str(layer), spec_stack=str(spec_stack))


_LAYERS_FIX = f"use one of {', '.join(LAYER_STACKS)}"
_BASE = "set it to the stack whose stacks/Pulumi.<stack>.yaml holds the spec, e.g. aws-h100"


def layer_spec_file(selection: LayerSelection, stacks_dir: Path = STACKS_DIR) -> StackFile:
    """The base stack's file a layer stack reads its spec from; a problem under `specStack` when it is missing or is
    itself a layer stack."""
    try:
        base = read_stack_file(selection.spec_stack, stacks_dir)
    except SpecError as exc:
        raise SpecError(
            [Problem(SPEC_STACK_KEY, p.message, selection.spec_stack, p.fix) for p in exc.problems], exc.source
        ) from None
    if any(key in base.project_config() for key in LAYER_KEYS):
        raise SpecError(
            [Problem(SPEC_STACK_KEY, f"names a layer stack ({base.path}), not a spec", selection.spec_stack, _BASE)],
            str(base.path),
        )
    return base


def spec_from_pulumi_config() -> StackSpec:
    """The `pulumi up` path: the whole config bag through the same checks as a stack file (unknown keys, namespace
    typos, plain-text credentials are rejected exactly as `synth` rejects them)."""
    return spec_and_selection_from_pulumi_config()[0]


def spec_and_selection_from_pulumi_config() -> tuple[StackSpec, LayerSelection | None, str | None]:
    """The spec, for a layer stack which layer it is (its spec read from the base stack's file), and the region of
    the spec's stack (`aws:region` of the base stack's file for a layer stack)."""
    import pulumi

    bag, secrets = pulumi_config_bag()
    stack = pulumi.get_stack()
    stack_file = StackFile(name=stack, path=Path(f"<config of stack {stack}>"), config=bag, secrets=secrets)
    selection = layer_selection(stack_file)
    if selection is None:
        return spec_from_stack_file(stack_file), None, pulumi.Config("aws").get("region")
    base = layer_spec_file(selection, pulumi_stacks_dir())
    pulumi.log.info(f"layer stack {selection.layer} of {selection.spec_stack}: spec from {base.path}")
    return spec_from_stack_file(base), selection, base.region


def pulumi_stacks_dir() -> Path:
    """Where Pulumi reads this project's stack files under `pulumi up`: `stackConfigDir` of the project's Pulumi.yaml,
    relative to the project root (pulumi.get_root_directory(); the project root itself when unset), so a layer stack
    reads its base stack's file next to its own. When the language host does not pass the project root (the e2e's
    pulumi-language-python does not), and outside the engine (offline, tests): the program's stacks/, which is the
    shipped project's stackConfigDir. The program logs which file it read."""
    import pulumi

    root = pulumi.get_root_directory()
    if not root or not (Path(root) / "Pulumi.yaml").is_file():
        return STACKS_DIR
    project = safe_load_unique((Path(root) / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    configured = project.get("stackConfigDir") if isinstance(project, dict) else None
    return Path(root) / str(configured or ".")
