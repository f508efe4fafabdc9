"""Validation of a rendered plan against reality.

- Built-in kinds: strict Kubernetes OpenAPI (kubernetes-validate's strict schemas for the stack's version).
- Custom resources: the `openAPIV3Schema` of the exact served version in the upstream CRD, made strict the way the
  API server's `fieldValidation=Strict` is (unknown fields rejected unless the schema preserves them).
- Helm charts: every values key must exist in the chart's upstream values.yaml (free-form maps accepted where the
  upstream default is an empty map, a list or a scalar placeholder).
- Rendered chart objects (stacks/charts): the same checks, custom resources against the CRDs the stack's charts
  install first (the schema the API server will enforce), then the upstream CRDs; counted per chart. A finding
  inside a chart names the template; findings triaged as upstream's own (components/catalog/upstream_defects.py)
  are reported as such and do not fail; a chart synth did not render is a finding (nothing was checked).
- Reference integrity (stacks/references.py): every name a pod or custom resource refers to exists.
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
from components.charts import CHART_TYPES
from components.k8s import is_builtin, split_api_version
from stacks.plan_dir import schema_dir

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
class ChartCount:
    objects: int = 0
    findings: int = 0
    upstream: int = 0


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked_objects: int = 0
    checked_charts: int = 0
    unvalidated_objects: int = 0  # custom resources with no CRD dir given (--allow-unvalidated)
    unvalidated_charts: int = 0  # charts with no chart values dir given (--allow-unvalidated)

    def not_validated(self) -> list[str]:
        """What was not validated and why, for the summary line (empty when everything was)."""
        out = []
        if self.unvalidated_objects:
            out.append(f"{self.unvalidated_objects} custom resources (no CRD dir)")
        if self.unvalidated_charts:
            out.append(f"{self.unvalidated_charts} charts' values (no chart values dir)")
        return out

    upstream: list[Finding] = field(default_factory=list)  # triaged upstream chart defects: reported, not failing
    charts: dict[str, ChartCount] = field(default_factory=dict)  # release -> rendered objects checked / findings

    def to_json(self) -> dict[str, Any]:
        return {
            "checkedObjects": self.checked_objects,
            "checkedCharts": self.checked_charts,
            "notValidated": self.not_validated(),
            "notes": self.notes,
            "findings": [{"resource": f.resource, "path": f.path, "message": f.message} for f in self.findings],
            "upstream": [{"resource": f.resource, "path": f.path, "message": f.message} for f in self.upstream],
            "charts": {
                k: {"objects": c.objects, "findings": c.findings, "upstream": c.upstream}
                for k, c in sorted(self.charts.items())
            },
        }


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
        # OpenAPI v3.0 (CRD structural schemas) writes exclusive bounds as booleans next to minimum/maximum;
        # JSON Schema draft 7 wants the bound itself (a boolean would read as the number 0 or 1)
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
                out[exclusive] = out.pop(bound)
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


def _strict_cr_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    strict = strictify(copy.deepcopy(schema))
    props = strict.setdefault("properties", {})
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(strict)


def crd_index(crds: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema of every served version of the given CRD objects."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        for ver in spec.get("versions") or []:
            if group and kind and ver.get("served", True):
                schema = (ver.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}
                out.setdefault((str(group), str(ver["name"]), str(kind)), schema)
    return out


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


def unknown_value_keys(
    values: Any, defaults: Any, path: tuple[str, ...] = (), values_path: str | None = None
) -> list[str]:
    """Paths of keys in `values` that the chart's values.yaml neither defines nor documents in comments."""
    if not isinstance(values, dict) or not isinstance(defaults, dict) or (not defaults and path):
        return []  # free-form (empty map / list / scalar default): anything below is the chart's to interpret
    bad: list[str] = []
    for key, value in values.items():
        here = (*path, str(key))
        if key in defaults:
            bad += unknown_value_keys(value, defaults[key], here, values_path)
        elif values_path and key in documented_keys(values_path, path):
            bad += _documented_only(value, here, values_path)
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
        self,
        kubernetes_version: str,
        crd_dir: Path | None = None,
        chart_values_dir: Path | None = None,
        charts_dir: Path | None = None,
    ) -> None:
        """`None` for a directory means "not given" (its checks are counted as not validated); a directory that is
        given but does not exist is a SchemaDirError, never a silent pass."""
        self.kubernetes_version = kubernetes_version
        crds = schema_dir(crd_dir, "CRD directory")
        self.crd_dir = str(crds.resolve()) if crds else None
        self.chart_values_dir = schema_dir(chart_values_dir, "chart values directory")
        self._stack_validators: dict[int, jsonschema.protocols.Validator] = {}
        self.charts_dir = charts_dir  # the charts themselves: values keys of subcharts too (stacks/charts)

    def validate_object(
        self, obj: dict[str, Any], stack_crds: dict[tuple[str, str, str], dict[str, Any]] | None = None
    ) -> list[Finding]:
        """One object: core kinds strictly; a custom resource against the stack's own CRD (`stack_crds`: what the
        charts install) when there is one, else the upstream CRD directory."""
        what = _describe(obj)
        if not (obj.get("metadata") or {}).get("name"):
            return [Finding(what, "metadata.name", "every object needs an explicit name")]
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return [Finding(what, "", "every object needs apiVersion and kind")]
        if is_builtin(api_version):
            validator = core_validator(self.kubernetes_version, api_version, kind)
            if validator is None:
                return [Finding(what, "", f"no Kubernetes {self.kubernetes_version} schema for {api_version} {kind}")]
        else:
            group, version = split_api_version(api_version)
            schema = (stack_crds or {}).get((group, version, kind))
            if schema is not None:
                key = id(schema)
                validator = self._stack_validators.get(key)
                if validator is None:
                    validator = self._stack_validators[key] = _strict_cr_validator(schema)
            else:
                if self.crd_dir is None:
                    return []
                validator = cr_validator(self.crd_dir, group, version, kind)
                if validator is None:
                    where = f"the stack's charts or {self.crd_dir}" if stack_crds is not None else self.crd_dir
                    return [Finding(what, "", f"no served CRD version {api_version} {kind} in {where}")]
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
        from stacks.charts.locate import chart_defaults as rendered_chart_defaults
        from stacks.charts.locate import default_charts_dir

        found = rendered_chart_defaults(inputs, self.charts_dir or default_charts_dir())
        templates = ""
        if found is not None:  # the chart itself: every subchart's defaults under its key, as Helm coalesces them
            defaults, templates = merge_defaults(found[0], defaults), found[1]
        return [
            Finding(what, f"values.{p}", "key does not exist in the chart's values.yaml")
            for p in unknown_value_keys(
                inputs.get("values") or {}, defaults, values_path=str(self.chart_values_dir / values_file)
            )
            if f".Values.{p}" not in templates  # no default, but a template of the chart reads it
            and not whole_map_reader(p, templates)
        ]

    def validate_plan(
        self,
        plan: dict[str, Any],
        *,
        objects: list[dict[str, Any]] | None = None,
    ) -> Result:
        """Every chart of the plan and every Kubernetes object: `objects` when given (the manifests/ a reviewer
        would apply), else plan.json's. Rendered chart objects and references: stacks/charts/checks.py
        `validate_with_charts`, which calls this first."""
        result = Result()
        if self.crd_dir is None:
            result.notes.append("custom resources not validated: no --crd-dir / INFERENCE_RA_CRD_DIR")
        if self.chart_values_dir is None:
            result.notes.append("chart values not validated: no --chart-values-dir / INFERENCE_RA_CHART_VALUES_DIR")
        for r in plan["resources"]:
            if r["type"] in CHART_TYPES:
                self._check_chart(r.get("inputs") or {}, result)
        if objects is None:
            objects = [
                r["inputs"]
                for r in plan["resources"]
                if r["type"].startswith("kubernetes:")
                and "apiVersion" in (r.get("inputs") or {})
                and "kind" in (r.get("inputs") or {})
            ]
        for obj in objects:
            self._check_object(obj, result)
        return result

    def _check_chart(self, inputs: dict[str, Any], result: Result) -> None:
        note = self.unverified_chart(inputs)
        if note:
            if note not in result.notes:
                result.notes.append(note)
            return
        if self.chart_values_dir is None:
            result.unvalidated_charts += 1
            return
        result.checked_charts += 1
        result.findings += self.validate_chart(inputs)

    def _check_object(self, obj: dict[str, Any], result: Result) -> None:
        if self.crd_dir is None and not is_builtin(str(obj.get("apiVersion", ""))):
            result.unvalidated_objects += 1
            return
        result.checked_objects += 1
        result.findings += self.validate_object(obj)


MERGE_READER = "(.merge | default dict)"  # nats chart templates/_helpers.tpl `nats.loadMergePatch`


def whole_map_reader(path: str, templates: str) -> str:
    """The reader of a map a template passes on whole, which takes any key below it: `toYaml .Values.<map>` (the
    chart or a subchart, whose templates name the path without the subchart key) puts it into an object the API
    server's schema checks (validate checks the rendered object); a `merge` map of a chart's merge-patch extension
    point (`mergeOverwrite $doc (.merge | default dict)`) is merged into the rendered object likewise. "" if none."""
    parts = path.split(".")
    for n in range(len(parts) - 1, 0, -1):
        prefix = parts[:n]
        for q in (".".join(prefix), ".".join(prefix[1:])):
            if q and re.search(rf"toYaml\s+\.Values\.{re.escape(q)}(?![\w.-])", templates):
                return f"toYaml .Values.{q}"
        if prefix[-1] == "merge" and MERGE_READER in templates:
            return MERGE_READER
    return ""
