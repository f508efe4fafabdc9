"""Validation of a rendered plan against reality.

- Built-in kinds: strict Kubernetes OpenAPI (kubernetes-validate's strict schemas for the stack's version).
- Custom resources: the `openAPIV3Schema` of the exact served version in the upstream CRD, made strict the way the
  API server's `fieldValidation=Strict` is (unknown fields rejected unless the schema preserves them).
- Helm charts: every values key must exist in the chart's upstream values.yaml (free-form maps accepted where the
  upstream default is an empty map, a list or a scalar placeholder).
Compiled validators are cached per (version, apiVersion, kind): a schema is compiled once per process.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate.utils as kvu
import referencing
import yaml

from components.catalog import CHARTS, ChartRef
from components.k8s import is_builtin, split_api_version

CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Finding:
    resource: str  # "<Kind> <namespace>/<name>" or "chart <name>"
    path: str
    message: str

    def render(self) -> str:
        at = f" at {self.path}" if self.path else ""
        return f"{self.resource}{at}: {self.message}"


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked_objects: int = 0
    checked_charts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "checkedObjects": self.checked_objects,
            "checkedCharts": self.checked_charts,
            "notes": self.notes,
            "findings": [{"resource": f.resource, "path": f.path, "message": f.message} for f in self.findings],
        }


def load_plan_dir(path: Path) -> dict[str, Any]:
    data = json.loads((path / "plan.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "resources" not in data:
        raise ValueError(f"{path}/plan.json is not a plan")
    return data


# ---------------------------------------------------------------------------------------------------- core kinds
def _schema_version(k8s_version: str) -> str:
    wanted = kvu.major_minor(k8s_version)
    versions = [v for v in kvu.all_versions() if kvu.major_minor(v) <= wanted]
    if not versions:
        raise ValueError(f"kubernetes-validate has no schemas for {k8s_version}")
    return versions[-1]


@lru_cache(maxsize=8)
def _core_registry(version: str) -> referencing.Registry:
    defs = kvu.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)
    return referencing.Resource.from_contents(defs) @ referencing.Registry()  # type: ignore[no-any-return]


@lru_cache(maxsize=512)
def core_validator(k8s_version: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    version = _schema_version(k8s_version)
    api = api_version.replace("/", "-") if "/" in api_version else api_version
    group, ver = split_api_version(api_version)
    api = f"{group.split('.')[0]}-{ver}" if group else ver
    try:
        schema = kvu.schema_contents(
            f"kubernetes-json-schema/v{version}-local-strict/{kind.lower()}-{api}.json", version
        )
    except FileNotFoundError:
        return None
    registry = referencing.Resource.from_contents(schema) @ _core_registry(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


# -------------------------------------------------------------------------------------------- custom resources
def strictify(schema: Any) -> Any:
    """Reject unknown fields like the API server's strict field validation, except where the schema preserves them."""
    if isinstance(schema, dict):
        out = {k: strictify(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strictify(v) for v in schema]
    return schema


_CRD_GROUP = re.compile(r"^  group: ['\"]?([^'\"\s]+)", re.MULTILINE)
_CRD_KIND = re.compile(r"^    kind: ['\"]?([^'\"\s]+)", re.MULTILINE)


@lru_cache(maxsize=4)
def crd_files(crd_dir: str) -> dict[tuple[str, str], Path]:
    """(group, kind) -> CRD file, found by a cheap text scan; files are parsed only when a CR needs them."""
    index: dict[tuple[str, str], Path] = {}
    for path in sorted(Path(crd_dir).rglob("*.y*ml")):
        text = path.read_text(encoding="utf-8")
        if "kind: CustomResourceDefinition" not in text:
            continue
        group, kind = _CRD_GROUP.search(text), _CRD_KIND.search(text)
        if group and kind:
            index.setdefault((group.group(1), kind.group(1)), path)
    return index


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "inference-ra" / "crds"


@lru_cache(maxsize=64)
def crd_schemas(path: Path) -> dict[str, dict[str, Any]]:
    """version -> openAPIV3Schema of every served version in one CRD file.

    Large CRDs (the DynamoGraphDeployment CRD is 1.6 MB) take seconds to parse, so the result is cached on disk,
    keyed by the file's SHA-256: a changed file is parsed again.
    """
    raw = path.read_bytes()
    cached = _cache_dir() / f"{hashlib.sha256(raw).hexdigest()}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    out: dict[str, dict[str, Any]] = {}
    for doc in yaml.load_all(raw, Loader=_Loader):
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        for ver in (doc.get("spec") or {}).get("versions") or []:
            if ver.get("served", True):
                out[str(ver["name"])] = (ver.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(out), encoding="utf-8")
        tmp.replace(cached)
    except OSError:
        pass  # a read-only home only costs the parse next time
    return out


@lru_cache(maxsize=256)
def cr_validator(crd_dir: str, group: str, version: str, kind: str) -> jsonschema.protocols.Validator | None:
    path = crd_files(crd_dir).get((group, kind))
    schema = crd_schemas(path).get(version) if path else None
    if schema is None:
        return None
    strict = strictify(copy.deepcopy(schema))
    props = strict.setdefault("properties", {})
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(strict)


# ------------------------------------------------------------------------------------------------ chart values
@lru_cache(maxsize=32)
def chart_defaults(values_path: str) -> dict[str, Any]:
    data = yaml.load(Path(values_path).read_text(encoding="utf-8"), Loader=_Loader)
    return data if isinstance(data, dict) else {}


@lru_cache(maxsize=32)
def _values_lines(values_path: str) -> tuple[str, ...]:
    return tuple(Path(values_path).read_text(encoding="utf-8").splitlines())


_KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.\-]+):(\s|$)")


def _block(lines: tuple[str, ...], parent: tuple[str, ...]) -> tuple[str, ...]:
    """Lines (comments included) inside the block of the key path `parent` in a values.yaml."""
    if not parent:
        return lines
    stack: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        m = _KEY_LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        if tuple(k for _, k in stack) == parent:
            end = i + 1
            while end < len(lines):
                text = lines[end]
                if text.strip() and not text.lstrip().startswith("#") and len(text) - len(text.lstrip()) <= indent:
                    break
                end += 1
            return lines[i + 1 : end]
    return ()


def documented_keys(values_path: str, parent: tuple[str, ...]) -> frozenset[str]:
    """Keys that the chart documents as commented-out examples inside `parent` (e.g. `# config:`).

    Charts document optional keys this way (gpu-operator's `dcgmExporter.config`); accepting exactly those keys
    keeps the check strict for typos while allowing documented options.
    """
    found = set()
    for line in _block(_values_lines(values_path), parent):
        m = re.match(r"^\s*#\s*([A-Za-z0-9_.\-]+):(\s|$)", line)
        if m:
            found.add(m.group(1))
    return frozenset(found)


_TEMPLATE_VALUE = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


@lru_cache(maxsize=64)
def template_value_paths(chart_dir: Path) -> frozenset[str]:
    """Dotted `.Values.a.b` paths the chart's own templates read (its readers), subcharts prefixed by their name."""
    found: set[str] = set()
    if not chart_dir.is_dir():
        return frozenset()
    for tpl in sorted((chart_dir / "templates").rglob("*")):
        if tpl.is_file():
            found.update(m.group(1)[1:] for m in _TEMPLATE_VALUE.finditer(tpl.read_text(errors="replace")))
    sub_root = chart_dir / "charts"
    if sub_root.is_dir():
        for sub in sorted(sub_root.iterdir()):
            found.update(f"{sub.name}.{p}" for p in template_value_paths(sub))
    return frozenset(found)


def unknown_value_keys(
    values: Any,
    defaults: Any,
    path: tuple[str, ...] = (),
    values_path: str | None = None,
    read: frozenset[str] = frozenset(),
) -> list[str]:
    """Paths of keys in `values` that the chart's values.yaml neither defines nor documents in comments, and that
    none of its templates reads (`read`: .Values paths, see template_value_paths)."""
    if not isinstance(values, dict) or not isinstance(defaults, dict) or (not defaults and path):
        return []  # free-form (empty map / list / scalar default): anything below is the chart's to interpret
    bad: list[str] = []
    for key, value in values.items():
        here = (*path, str(key))
        if key in defaults:
            bad += unknown_value_keys(value, defaults[key], here, values_path, read)
        elif values_path and key in documented_keys(values_path, path):
            bad += _documented_only(value, here, values_path)
        elif ".".join(here) in read:
            continue  # not in values.yaml, but a template reads it (and interprets what is below it)
        else:
            bad.append(".".join(here))
    return bad


def _documented_only(value: Any, path: tuple[str, ...], values_path: str) -> list[str]:
    """Below a commented-out key, every nested key must be documented in the same commented block."""
    if not isinstance(value, dict):
        return []
    documented = documented_keys(values_path, path[:-1])
    return [".".join((*path, str(k))) for k in value if k not in documented]


# Subcharts whose values the parent chart's values.yaml only partly repeats: (chart, subchart key) -> the
# subchart's own values file. Helm merges the parent's block over the subchart's defaults, so a key is valid
# when either file defines it.
SUBCHART_VALUES: dict[tuple[str, str], str] = {
    ("dynamo-platform", "dynamo-operator"): "dynamo-operator.values.yaml",
}


def merge_defaults(base: Any, over: Any) -> Any:
    """Deep merge of two values trees (maps merge key by key; anything else: `over` wins)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge_defaults(base.get(key), value) if key in base else value
        return out
    return over if over is not None else base


def chart_ref(chart: str) -> ChartRef | None:
    return next((ref for ref in CHARTS.values() if ref.chart == chart), None)


def chart_values_file(chart: str) -> str | None:
    ref = chart_ref(chart)
    return ref.values_file if ref else None


# ---------------------------------------------------------------------------------------------------- validator
def _describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def _errors(validator: jsonschema.protocols.Validator, obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("/".join(str(p) for p in e.absolute_path), e.message)
        for e in sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    ]


class Validator:
    def __init__(
        self, kubernetes_version: str, crd_dir: Path | None = None, chart_values_dir: Path | None = None
    ) -> None:
        self.kubernetes_version = kubernetes_version
        self.crd_dir = str(crd_dir.resolve()) if crd_dir and crd_dir.is_dir() else None
        self.chart_values_dir = chart_values_dir if chart_values_dir and chart_values_dir.is_dir() else None

    def validate_object(self, obj: dict[str, Any]) -> list[Finding]:
        what = _describe(obj)
        if not (obj.get("metadata") or {}).get("name"):
            return [Finding(what, "metadata.name", "every object needs an explicit name")]
        api_version, kind = obj["apiVersion"], obj["kind"]
        if is_builtin(api_version):
            validator = core_validator(self.kubernetes_version, api_version, kind)
            if validator is None:
                return [Finding(what, "", f"no Kubernetes {self.kubernetes_version} schema for {api_version} {kind}")]
        else:
            if self.crd_dir is None:
                return []
            group, version = split_api_version(api_version)
            validator = cr_validator(self.crd_dir, group, version, kind)
            if validator is None:
                return [Finding(what, "", f"no served CRD version {api_version} {kind} in {self.crd_dir}")]
        return [Finding(what, path, msg) for path, msg in _errors(validator, obj)]

    def unverified_chart(self, inputs: dict[str, Any]) -> str | None:
        """A note when a chart cannot be validated because the reference set lacks it (declared in the catalog)."""
        ref = chart_ref(str(inputs.get("chart", "")))
        if self.chart_values_dir is None or ref is None or not ref.reference_missing:
            return None
        if (self.chart_values_dir / ref.values_file).is_file():
            return None
        return f"chart {ref.chart}@{ref.version} values not validated: {ref.reference_missing}"

    def validate_chart(self, inputs: dict[str, Any]) -> list[Finding]:
        chart = str(inputs.get("chart", ""))
        what = f"chart {chart}@{inputs.get('version', '?')}"
        values_file = chart_values_file(chart)
        if self.chart_values_dir is None or self.unverified_chart(inputs):
            return []
        if values_file is None or not (self.chart_values_dir / values_file).is_file():
            return [Finding(what, "", f"no upstream values.yaml for chart {chart!r} in {self.chart_values_dir}")]
        defaults = chart_defaults(str(self.chart_values_dir / values_file))
        for (parent, key), sub_file in SUBCHART_VALUES.items():
            if parent == chart and (self.chart_values_dir / sub_file).is_file():
                sub = chart_defaults(str(self.chart_values_dir / sub_file))
                defaults = {**defaults, key: merge_defaults(sub, defaults.get(key) or {})}
        # Subcharts of the pinned chart as unpacked next to the values files (../shared/upstream/charts/<chart>/
        # charts/<subchart>/values.yaml): keys of grafana, kube-state-metrics, nats... are valid where the subchart
        # defines them, as Helm merges the parent's block over the subchart's defaults.
        unpacked = self.chart_values_dir.parent / "charts" / chart.rstrip("/").rsplit("/", 1)[-1] / "charts"
        if unpacked.is_dir():
            for sub_dir in sorted(unpacked.iterdir()):
                sub_values = sub_dir / "values.yaml"
                if sub_values.is_file() and not any(p == chart and k == sub_dir.name for p, k in SUBCHART_VALUES):
                    sub = chart_defaults(str(sub_values))
                    defaults = {**defaults, sub_dir.name: merge_defaults(sub, defaults.get(sub_dir.name) or {})}
        read = template_value_paths(self.chart_values_dir.parent / "charts" / chart.rstrip("/").rsplit("/", 1)[-1])
        return [
            Finding(what, f"values.{p}", "key does not exist in the chart's values.yaml")
            for p in unknown_value_keys(
                inputs.get("values") or {}, defaults, values_path=str(self.chart_values_dir / values_file), read=read
            )
        ]

    def validate_plan(self, plan: dict[str, Any]) -> Result:
        result = Result()
        if self.crd_dir is None:
            result.notes.append("custom resources not validated: no --crd-dir / INFERENCE_RA_CRD_DIR")
        if self.chart_values_dir is None:
            result.notes.append("chart values not validated: no --chart-values-dir / INFERENCE_RA_CHART_VALUES_DIR")
        for r in plan["resources"]:
            inputs = r.get("inputs") or {}
            if r["type"] == CHART_TYPE:
                note = self.unverified_chart(inputs)
                if note and note not in result.notes:
                    result.notes.append(note)
                else:
                    result.checked_charts += 1
                result.findings += self.validate_chart(inputs)
            elif r["type"].startswith("kubernetes:") and "apiVersion" in inputs and "kind" in inputs:
                result.checked_objects += 1
                result.findings += self.validate_object(inputs)
        return result
