"""Render every chart resource of a plan (the synth hook-in) and describe the result for plan.json.

All charts of a stack render against one set of capabilities: the spec's Kubernetes version and the API versions
of that release plus every CRD the stack installs (stacks/charts/capabilities.py). CRDs a chart template renders
are only known after rendering, so rendering repeats until the API set is stable (two passes in practice; the
disk cache makes a repeat cheap).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from components.charts import CHART_TYPES, RELEASE_TYPE
from stacks.charts.capabilities import builtin_api_versions, crd_api_versions, crd_scopes, kube_version
from stacks.charts.locate import ChartSourceError, LocatedChart, default_charts_dir, locate
from stacks.charts.render import (
    ChartRendering,
    RawRender,
    RenderedObject,
    cache_dir,
    hook_events,
    installed_crds,
    normalize,
    raw_render,
)

if TYPE_CHECKING:
    from components.spec import StackSpec


class Registration(Protocol):
    """What rendering reads of one recorded registration (stacks/engine.py `Registration`); a protocol, so the
    engine imports this package and not the other way round."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def custom(self) -> bool: ...
    @property
    def inputs(self) -> dict[str, Any]: ...


class Plan(Protocol):
    """What rendering reads of a plan (stacks/engine.py `Plan`)."""

    @property
    def spec(self) -> StackSpec: ...
    @property
    def resources(self) -> Sequence[Registration]: ...


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
MAX_PASSES = 4


def dump_object(obj: Any) -> str:
    """One object as its manifest file (the style of stacks/output.py dump_yaml, with libyaml).

    PyYAML's representer is Python even with libyaml, and was 80% of rendering a fleet's charts from a warm cache
    (2.9 of 3.5 s, cProfile): the text is cached on disk by the object's content hash."""
    key = hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()
    path = cache_dir() / "yaml" / key[:2] / f"{key}.yaml"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    text = yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=120)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only checkout only costs the dump next time
    return text


@dataclass(frozen=True)
class WrittenObject:
    """A rendered object with its manifest text (dumped once; plan.json carries its digest)."""

    rendered: RenderedObject
    file: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass
class PlanCharts:
    renderings: list[ChartRendering] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # urn -> why the chart was not rendered
    written: dict[str, list[WrittenObject]] = field(default_factory=dict)  # urn -> files under manifests/
    passes: int = 0
    seconds: float = 0.0

    def by_urn(self) -> dict[str, ChartRendering]:
        return {c.urn: c for c in self.renderings}


def _crd_objects(plan_objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [o for o in plan_objects if o.get("kind") == "CustomResourceDefinition"]


def _installed_crds(raw: list[tuple[str, dict[str, Any]]], crds: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    return [d for _, d in crds] + [d for _, d in raw if d.get("kind") == "CustomResourceDefinition"]


def render_plan(
    plan: Plan,
    *,
    charts_dir: Path | None = None,
    allow_unrendered: bool = False,
    stacks_dir: Path | None = None,
) -> PlanCharts:
    """Render every chart resource of `plan`. Raises ChartSourceError (or HelmRenderError) unless allowed."""
    from components.charts import STACKS_DIR

    start = time.perf_counter()
    result = PlanCharts()
    chart_resources = sorted((r for r in plan.resources if r.type in CHART_TYPES), key=lambda r: r.urn)
    if not chart_resources:
        return result
    charts_dir = charts_dir if charts_dir is not None else default_charts_dir()
    located: dict[str, LocatedChart] = {}
    for r in chart_resources:
        try:
            located[r.urn] = locate(r.inputs, charts_dir, stacks_dir or STACKS_DIR)
        except ChartSourceError as exc:
            if not allow_unrendered:
                raise
            result.skipped[r.urn] = str(exc)
    kube = kube_version(plan.spec.cluster.kubernetes_version)
    plan_objects = [r.inputs for r in plan.resources if r.custom and "kind" in r.inputs and "apiVersion" in r.inputs]
    base_apis = set(builtin_api_versions(kube)) | crd_api_versions(_crd_objects(plan_objects))
    apis = set(base_apis)

    def inputs(r: Registration) -> dict[str, Any]:
        return {
            "release": r.name,
            "namespace": str(r.inputs.get("namespace") or "default"),
            "kube_version": kube,
            "skip_crds": bool(r.inputs.get("skipCrds")),
        }

    for passes in range(1, MAX_PASSES + 1):  # the API set: until the CRDs the charts install stop adding to it
        result.passes = passes
        installed = [
            crd
            for r in chart_resources
            if r.urn in located
            for crd in installed_crds(
                located[r.urn], dict(r.inputs.get("values") or {}), api_versions=sorted(apis), **inputs(r)
            )
        ]
        wanted = base_apis | crd_api_versions(installed)
        if wanted == apis:
            break
        apis = wanted
    raw: dict[str, RawRender] = {}
    for r in chart_resources:
        if r.urn in located:
            raw[r.urn] = raw_render(
                located[r.urn], dict(r.inputs.get("values") or {}), api_versions=sorted(apis), **inputs(r)
            )
            _check_pinned(located[r.urn], raw[r.urn].metadata)
    all_crds = _crd_objects(plan_objects) + [crd for r in raw.values() for crd in _installed_crds(r.docs, r.crds)]
    scopes = crd_scopes(all_crds)
    mirror = plan.spec.images.mirror
    for r in chart_resources:
        if r.urn in located:
            rendering = _rendering(r, located[r.urn], raw[r.urn], kube, scopes, mirror)
            result.renderings.append(rendering)
            result.written[r.urn] = _written(rendering)
    result.seconds = time.perf_counter() - start
    return result


def _check_pinned(located: LocatedChart, metadata: Mapping[str, Any]) -> None:
    """The copy rendered must be the chart the plan pins: same name, same version (fail closed)."""
    ref = located.ref
    name, version = str(metadata.get("name") or ""), str(metadata.get("version") or "")
    if (name, version) != (ref.name, ref.version):
        raise ChartSourceError(
            f"chart {ref.name}@{ref.version}: {located.path} is not the pinned chart (its Chart.yaml says "
            f"{name}@{version}); give the pinned copy"
        )


def _rendering(
    r: Registration,
    located: LocatedChart,
    raw: RawRender,
    kube: str,
    scopes: Mapping[tuple[str, str], bool],
    mirror: str | None,
) -> ChartRendering:
    metadata, docs, crds = raw.metadata, raw.docs, raw.crds
    namespace = str(r.inputs.get("namespace") or "default")
    deploy = "release" if r.type == RELEASE_TYPE else "chart"
    rendering = ChartRendering(
        urn=r.urn,
        release=r.name,
        namespace=namespace,
        located=located,
        metadata=metadata,
        deploy=deploy,
        kube_version=kube,
        seconds=raw.seconds,
        cached=raw.cached,
        generated=list(raw.generated),
    )
    chart_mirror = mirror if deploy == "chart" else None  # the Pulumi transform rides on helm.v4.Chart only
    for template, doc in crds:
        rendering.objects.append(RenderedObject(template, normalize(doc, namespace, scopes, None)))
    for template, doc in docs:
        events = hook_events(doc)
        obj = RenderedObject(template, normalize(doc, namespace, scopes, chart_mirror), events)
        if events:
            rendering.hooks.append(obj)
        else:
            rendering.objects.append(obj)
    rendering.objects += rendering.applied_hooks
    return rendering


def _written(rendering: ChartRendering) -> list[WrittenObject]:
    out: dict[str, WrittenObject] = {}
    for obj in rendering.objects:
        if not obj.name:
            raise ChartSourceError(
                f"chart {rendering.release}: {obj.kind} from {obj.template} has no metadata.name (every object is "
                "named explicitly; Pulumi rejects it too)"
            )
        file = rendering.file_of(obj)
        if file in out:
            raise ChartSourceError(
                f"chart {rendering.release}: {obj.template} and {out[file].rendered.template} both render "
                f"manifests/{file}"
            )
        out[file] = WrittenObject(obj, file, dump_object(obj.obj))
    return [out[k] for k in sorted(out)]


def rendered_json(rendering: ChartRendering, written: list[WrittenObject]) -> dict[str, Any]:
    """The `rendered` field of a chart resource in plan.json (DESIGN.md plan output contract)."""
    from components.images import images_of, split_image

    images: dict[str, int] = {}
    for w in written:
        for use in images_of(w.rendered.obj):
            images[use.image] = images.get(use.image, 0) + 1
    located = rendering.located
    return {
        "chart": located.ref.name,
        "version": str(rendering.metadata.get("version") or ""),
        "appVersion": str(rendering.metadata.get("appVersion") or ""),
        "source": located.source,
        "digest": located.digest,
        "deploy": "helm.v3.Release" if rendering.deploy == "release" else "helm.v4.Chart",
        "kubeVersion": rendering.kube_version,
        "objects": [
            {
                "apiVersion": w.rendered.obj.get("apiVersion"),
                "kind": w.rendered.kind,
                "name": w.rendered.name,
                "namespace": w.rendered.namespace,
                "file": w.file,
                "template": w.rendered.template,
                "sha256": w.sha256,
                **({"hook": list(w.rendered.hook)} if w.rendered.hook else {}),
            }
            for w in written
        ],
        "hooks": [
            {
                "apiVersion": h.obj.get("apiVersion"),
                "kind": h.kind,
                "name": h.name,
                "namespace": h.namespace,
                "template": h.template,
                "events": list(h.hook),
                "runs": h in rendering.applied_hooks,
            }
            for h in sorted(rendering.hooks, key=lambda h: (h.template, h.kind, h.name))
        ],
        "images": [
            {"image": image, "digest": split_image(image)[3] or None, "uses": n} for image, n in sorted(images.items())
        ],
        # values Helm generates anew on every render (randAlphaNum, genCA, ...): new on each `pulumi up`
        "generated": [{"template": t, "path": p} for t, p in rendering.generated],
    }
