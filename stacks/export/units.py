"""The Kubernetes part of a plan as GitOps units, in the plan's dependency order (pure: plan.json in, units out).

A unit is what one Argo CD Application or one Flux Kustomization syncs:
- a chart: one `helm.sh/v4:Chart` / `helm.sh/v3:Release` of the plan (chart, version, source, values, release name,
  namespace exactly as plan.json records the inputs Pulumi installs it with);
- an object group: our own Kubernetes objects of one program layer (components/platform.py LAYERS) at one wave.

Waves come from the plan's `dependsOn` graph (what Pulumi orders by): an item's wave is 0 without dependencies on
other exported items, else one more than the highest wave it depends on. Dependencies on resources that are not
exported (AWS node groups, the cluster) are followed through, so that ordering between two exported items that
Pulumi got through a cloud resource is kept; what those cloud resources themselves provide is the user's (docs).

Secrets: plan.json never holds secret values (they are `"[secret]"`). A Secret object whose data is only that
placeholder is left out and named (the user supplies it: SOPS, External Secrets, Sealed Secrets); a placeholder
anywhere else (chart values, another object) is an ExportError, never an object applied with a placeholder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.charts import CHART_TYPES, RELEASE_TYPE
from stacks.output import is_k8s_resource

SECRET_PLACEHOLDER = "[secret]"


class ExportError(Exception):
    """The plan cannot be exported as asked; one line for the user, exit 2."""


@dataclass(frozen=True)
class ChartSource:
    """Where the controller pulls the chart from (components/charts.py `locate`, as plan.json records it)."""

    kind: str  # helm (a Helm repository URL) | oci (an oci:// chart reference)
    url: str  # the repository URL, or the oci:// reference of the chart itself
    chart: str  # the chart name inside a Helm repository ("" for oci)
    version: str


@dataclass(frozen=True)
class ChartUnit:
    urn: str
    release: str
    namespace: str
    source: ChartSource
    values: Mapping[str, Any]
    skip_crds: bool
    hooks_run: bool  # helm.v3.Release: Helm runs the chart's hooks; helm.v4.Chart never does
    hooks: tuple[str, ...]  # `Kind name (events)` of the chart's hooks, from plan.json `rendered.hooks`
    layer: str
    wave: int
    depends_on: tuple[str, ...]  # unit names


@dataclass(frozen=True)
class ObjectUnit:
    layer: str
    wave: int
    objects: tuple[tuple[str, Mapping[str, Any]], ...]  # (relative path, object), sorted by path
    depends_on: tuple[str, ...]  # unit names


@dataclass(frozen=True)
class ExportModel:
    stack: str
    charts: tuple[ChartUnit, ...]
    groups: tuple[ObjectUnit, ...]
    left_out: tuple[str, ...]  # what the user supplies, one line each
    protected: frozenset[str] = field(default_factory=frozenset)  # manifest paths of protect/retainOnDelete objects

    def name_of(self, unit: ChartUnit | ObjectUnit) -> str:
        return unit_name(self.stack, unit)


def unit_name(stack: str, unit: ChartUnit | ObjectUnit) -> str:
    if isinstance(unit, ChartUnit):
        return f"{stack}-chart-{unit.release}"
    return f"{stack}-{unit.layer.replace('_', '-')}-w{unit.wave}"


def layer_of(urn: str) -> str:
    """The program layer (components/platform.py LAYERS) a resource belongs to: the `inference-ra:<layer>:<Type>`
    component right under InferencePlatform in its URN's type chain ("" for the platform's own resources)."""
    chain = urn.split("::")[2].split("$") if urn.count("::") >= 3 else []
    if len(chain) < 2 or not chain[1].startswith("inference-ra:"):
        return ""
    return chain[1].split(":")[1]


def _has_placeholder(value: Any) -> bool:
    return SECRET_PLACEHOLDER in json.dumps(value)


def _is_placeholder_secret(obj: Mapping[str, Any]) -> bool:
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
        return False
    payload = {k: v for k, v in obj.items() if k in ("data", "stringData")}
    rest = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
    return _has_placeholder(payload) and not _has_placeholder(rest)


def chart_source(inputs: Mapping[str, Any], where: str) -> ChartSource:
    chart = str(inputs.get("chart") or "")
    version = str(inputs.get("version") or "")
    repo = str((inputs.get("repositoryOpts") or {}).get("repo") or "")
    if not version:
        raise ExportError(f"{where}: no pinned chart version in the plan")
    if chart.startswith("oci://"):
        return ChartSource("oci", chart, "", version)
    if repo.startswith("oci://"):
        return ChartSource("oci", f"{repo.rstrip('/')}/{chart}", "", version)
    if repo:
        return ChartSource("helm", repo, chart, version)
    raise ExportError(
        f"{where}: chart {chart!r} comes from a local path (inference-ra:charts.source local); a GitOps controller "
        "cannot read this machine's disk. Push the charts to a registry and set charts.source oci (ociPrefix), or "
        "repositories"
    )


def _refuse_mirror(release: str, mirror: str) -> None:
    """The mirror reaches a chart's objects as a Pulumi transform when Pulumi deploys it (components/images.py,
    components/k8s.py); an Application / HelmRelease has the controller render the chart from its values, which
    name the original registries, and Flux post-renderers' kustomize `images` would not reach the custom resources
    that name images (Prometheus `spec.image`, the GPU Operator's ClusterPolicy repositories)."""
    raise ExportError(
        f"chart {release}: the stack sets images.mirror {mirror}, which Pulumi applies to chart objects at deploy "
        "time; a GitOps controller renders the chart itself and would pull from the original registries. Export a "
        "stack without images.mirror and point the charts' image values or the cluster's registry mirrors "
        "(containerd hosts.toml) at the mirror (docs/gitops.md)"
    )


def _hooks(resource: Mapping[str, Any]) -> tuple[str, ...]:
    rendered = resource.get("rendered") or {}
    return tuple(
        f"{h.get('kind')} {h.get('name')} ({', '.join(h.get('events') or ())})" for h in rendered.get("hooks") or ()
    )


def build_model(plan_json: Mapping[str, Any], image_mirror: str | None = None) -> ExportModel:
    """Units of the plan's Kubernetes objects and charts, with waves and dependencies. `image_mirror` is the
    stack's `images.mirror` (not in plan.json): charts under a mirror cannot be exported (`_refuse_mirror`)."""
    from stacks.output import manifest_path

    stack = str(plan_json.get("stack") or "")
    resources = sorted(plan_json.get("resources") or [], key=lambda r: str(r.get("urn", "")))
    by_urn = {str(r["urn"]): r for r in resources}
    exported: dict[str, str] = {}  # urn -> "chart" | "object"
    left_out: list[str] = []
    for r in resources:
        urn, type_, inputs = str(r["urn"]), str(r.get("type", "")), r.get("inputs") or {}
        if type_ in CHART_TYPES:
            if _has_placeholder(inputs.get("values")):
                raise ExportError(f"chart {r.get('name')}: its values hold a secret; the export never writes one")
            if image_mirror:
                _refuse_mirror(str(r.get("name")), image_mirror)
            exported[urn] = "chart"
        elif is_k8s_resource(type_, inputs):
            if _is_placeholder_secret(inputs):
                meta = inputs.get("metadata") or {}
                left_out.append(
                    f"Secret {meta.get('namespace')}/{meta.get('name')}: its value is a Pulumi secret; create it in "
                    "the cluster yourself (SOPS, External Secrets, Sealed Secrets) before the units that read it"
                )
                continue
            if _has_placeholder(inputs):
                raise ExportError(f"{type_} {r.get('name')}: holds a secret outside a Secret's data")
            if type_.endswith("Patch"):
                raise ExportError(f"{type_} {r.get('name')}: a server-side patch has no GitOps form here")
            exported[urn] = "object"

    deps_memo: dict[str, frozenset[str]] = {}

    def exported_deps(urn: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        """The exported items `urn` depends on, following non-exported resources through."""
        if urn in deps_memo:
            return deps_memo[urn]
        out: set[str] = set()
        for dep in by_urn.get(urn, {}).get("dependsOn") or ():
            if dep in seen or dep not in by_urn:
                continue
            if dep in exported:
                out.add(dep)
            else:
                out |= exported_deps(dep, seen | {urn})
        deps_memo[urn] = frozenset(out)
        return deps_memo[urn]

    waves: dict[str, int] = {}

    def wave(urn: str, stack_: tuple[str, ...] = ()) -> int:
        if urn in waves:
            return waves[urn]
        if urn in stack_:
            raise ExportError(f"dependency cycle through {urn}")
        waves[urn] = max((wave(d, (*stack_, urn)) + 1 for d in exported_deps(urn)), default=0)
        return waves[urn]

    for urn in exported:
        wave(urn)

    def unit_key(urn: str) -> tuple[str, ...]:
        return ("chart", urn) if exported[urn] == "chart" else ("group", layer_of(urn), str(waves[urn]))

    def unit_label(key: tuple[str, ...]) -> str:
        if key[0] == "chart":
            return f"{stack}-chart-{release_of(by_urn[key[1]])}"
        return f"{stack}-{key[1].replace('_', '-')}-w{key[2]}"

    members: dict[tuple[str, ...], list[str]] = {}
    for urn in exported:
        members.setdefault(unit_key(urn), []).append(urn)

    def unit_deps(key: tuple[str, ...]) -> tuple[str, ...]:
        names = {unit_label(unit_key(d)) for urn in members[key] for d in exported_deps(urn)}
        names.discard(unit_label(key))
        return tuple(sorted(names))

    charts: list[ChartUnit] = []
    groups: list[ObjectUnit] = []
    protected: set[str] = set()
    names_seen: dict[str, tuple[str, ...]] = {}
    for key, urns in sorted(members.items()):
        label = unit_label(key)
        if label in names_seen:
            raise ExportError(f"two units would both be named {label!r}")
        names_seen[label] = key
        if key[0] == "chart":
            r = by_urn[key[1]]
            inputs = r.get("inputs") or {}
            charts.append(
                ChartUnit(
                    urn=key[1],
                    release=release_of(r),
                    namespace=str(inputs.get("namespace") or "default"),
                    source=chart_source(inputs, f"chart {r.get('name')}"),
                    values=inputs.get("values") or {},
                    skip_crds=bool(inputs.get("skipCrds")),
                    hooks_run=r.get("type") == RELEASE_TYPE,
                    hooks=_hooks(r),
                    layer=layer_of(key[1]),
                    wave=waves[key[1]],
                    depends_on=unit_deps(key),
                )
            )
            continue
        objects = []
        for urn in urns:
            r = by_urn[urn]
            rel = manifest_path(r["inputs"])
            objects.append((rel, r["inputs"]))
            if r.get("protect") or r.get("retainOnDelete"):
                protected.add(rel)
        groups.append(ObjectUnit(key[1], int(key[2]), tuple(sorted(objects, key=lambda o: o[0])), unit_deps(key)))
    return ExportModel(stack, tuple(charts), tuple(groups), tuple(left_out), frozenset(protected))


def release_of(resource: Mapping[str, Any]) -> str:
    """The Helm release name: helm.v3.Release's `name` input; helm.v4.Chart releases under its resource name."""
    return str((resource.get("inputs") or {}).get("name") or resource.get("name") or "")
