"""Reading a plan directory back (`validate --plan`, `check --plan`, `diff`, `graph --plan`): plan.json checked for
shape, manifests/ read as what a reviewer or a GitOps tool would apply, and the two compared.

A corrupt, truncated or foreign plan.json is a PlanDirError (the CLI's exit 2), never a traceback and never an empty
plan: an empty plan would make `diff` report every resource deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components.charts import CHART_TYPES
from stacks.output import OutputError, plan_manifests

STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")  # Pulumi's stack name rule (pkg/tokens ValidateStackName)
CHARTS_DIR = "_charts"  # manifests rendered from Helm charts (DESIGN.md ★ plan output); not plan.json objects


class PlanDirError(ValueError):
    """A plan directory that cannot be read as a plan."""


def check_plan_doc(doc: Any, where: str) -> dict[str, Any]:
    """plan.json's contract shape: {"project", "stack", "resources": [{"urn", "type", "inputs", ...}]}."""
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise PlanDirError(f"{where} is not an inference-ra plan (no `resources` list)")
    if not isinstance(doc.get("stack"), str) or not STACK_NAME.match(doc["stack"]) or doc["stack"] in (".", ".."):
        raise PlanDirError(f"{where} names no valid stack (got {str(doc.get('stack'))[:60]!r})")
    for i, r in enumerate(doc["resources"]):
        if not isinstance(r, dict) or not isinstance(r.get("urn"), str) or not isinstance(r.get("type"), str):
            raise PlanDirError(f"{where}: resources[{i}] has no urn/type")
        if not isinstance(r.get("inputs", {}), dict):
            raise PlanDirError(f"{where}: resources[{i}].inputs is not a mapping")
    return doc


def read_plan_json(path: Path) -> dict[str, Any]:
    """plan.json of a plan directory (or the file itself), parsed and checked; PlanDirError otherwise."""
    plan_file = path if path.suffix == ".json" else path / "plan.json"
    if not plan_file.is_file():
        raise PlanDirError(f"{path} has no plan.json (run `inference-ra synth` first)")
    try:
        doc = json.loads(plan_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanDirError(f"cannot read {plan_file}: {exc}") from None
    except ValueError as exc:
        raise PlanDirError(f"{plan_file} is not valid JSON (corrupt or truncated?): {exc}") from None
    return check_plan_doc(doc, str(plan_file))


def read_manifests(root: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """manifests/ relative path -> object, and (path, problem) for files that are not one YAML object each."""
    objects: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    if not root.is_dir():
        return objects, [("manifests/", "missing: the plan directory has no manifests/")]
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() or path.suffix != ".yaml":
            problems.append((f"manifests/{rel}", "not a manifest (only plain .yaml files belong here)"))
            continue
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append((f"manifests/{rel}", f"cannot be read as YAML: {exc}"))
            continue
        if len(docs) != 1 or not isinstance(docs[0], dict):
            problems.append((f"manifests/{rel}", f"must hold exactly one object, holds {len(docs)} document(s)"))
            continue
        objects[rel] = docs[0]
    return objects, problems


def compare_chart_files(
    plan_json: Mapping[str, Any], actual: Mapping[str, Any], root: Path | None = None
) -> list[tuple[str, str]]:
    """(path, problem) where manifests/_charts/ differs from what plan.json lists per chart: a listed file missing,
    a file nobody rendered, or a file whose object differs from the rendering plan.json pins by sha256."""
    listed: dict[str, str] = {}
    for r in chart_resources(plan_json):
        doc = r.get("rendered")
        for entry in (doc.get("objects") or []) if isinstance(doc, Mapping) else []:
            if isinstance(entry, Mapping) and isinstance(entry.get("file"), str):
                listed[entry["file"]] = str(entry.get("sha256") or "")
    present = {rel for rel in actual if rel.startswith(CHARTS_DIR + "/")}
    problems = [
        (f"manifests/{rel}", "missing: plan.json lists this rendered chart object but manifests/ does not")
        for rel in sorted(listed.keys() - present)
    ]
    problems += [
        (f"manifests/{rel}", "not rendered by any chart of plan.json: an object nobody planned would be applied")
        for rel in sorted(present - listed.keys())
    ]
    if root is not None:
        for rel in sorted(present & listed.keys()):
            digest = hashlib.sha256((root / rel).read_bytes()).hexdigest()
            if listed[rel] and digest != listed[rel]:
                problems.append((f"manifests/{rel}", "differs from the rendering plan.json pins (sha256)"))
    return problems


def compare_manifests(
    plan_json: Mapping[str, Any], actual: Mapping[str, Any], root: Path | None = None
) -> list[tuple[str, str]]:
    """(path, problem) where manifests/ differs from plan.json's objects. Chart renderings (`_charts/`) are not
    plan.json objects and are left to the chart checks."""
    try:
        expected = plan_manifests(plan_json)
    except OutputError as exc:
        return [("plan.json", str(exc))]
    problems = compare_chart_files(plan_json, actual, root)
    ours = {rel: obj for rel, obj in actual.items() if not rel.startswith(CHARTS_DIR + "/")}
    for rel in sorted(expected.keys() - ours.keys()):
        problems.append((f"manifests/{rel}", "missing: plan.json has this object but manifests/ does not"))
    for rel in sorted(ours.keys() - expected.keys()):
        problems.append((f"manifests/{rel}", "not in plan.json: an object nobody planned would be applied"))
    for rel in sorted(expected.keys() & ours.keys()):
        if ours[rel] != expected[rel]:
            problems.append(
                (f"manifests/{rel}", f"differs from plan.json ({_first_difference(expected[rel], ours[rel])})")
            )
    return problems


def _first_difference(want: Any, got: Any, path: str = "") -> str:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got), key=str):
            if want.get(key) != got.get(key):
                return _first_difference(want.get(key), got.get(key), f"{path}.{key}" if path else str(key))
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (a, b) in enumerate(zip(want, got, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"at {path or '(object)'}: plan.json has {_short(want)}, the manifest {_short(got)}"


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def chart_resources(plan_json: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in plan_json.get("resources", []) if r.get("type") in CHART_TYPES]


class SchemaDirError(ValueError):
    """A schema directory that was named but does not exist: validating without it would fail open."""


def schema_dir(path: Path | None, what: str) -> Path | None:
    if path is None:
        return None
    if not path.is_dir():
        raise SchemaDirError(f"{what} {path} is not a directory")
    return path
