"""Render one chart the way the plan installs it, and turn Helm's output into the objects the cluster receives.

Helm's engine renders every template (stacks/charts/helm.py); what follows is what Helm's install action and the
Pulumi chart resource do with that output, reproduced so the objects match what `pulumi up` applies:
- NOTES.txt and empty outputs are dropped, every YAML document is one object, `List` kinds are flattened
  (Helm action.renderResources / releaseutil.SortManifests; pulumi-kubernetes provider/pkg/provider/yaml/v2);
- documents annotated `helm.sh/hook` are hooks, not release objects: helm.v4.Chart drops them
  (provider/pkg/provider/helm/v4/chart.go `DisableHooks = true`, objects from `release.Manifest` only); helm.v3.Release
  has Helm run the install hooks;
- CRDs come from crds/ of the chart and of every subchart Helm enables (a subchart Helm disables renders no
  template, so its crds/ are not installed either), unless the resource sets skipCrds;
- a namespaced object without a namespace gets the release namespace (provider/pkg/provider/yaml/v2 Normalize);
- Secret data is a Pulumi secret (`[secret]` in the plan, as for the stack's own Secrets);
- with `images.mirror`, every image is put under the mirror, as the chart's Pulumi transform does at apply time.
Rendering is cached on disk by chart digest + values + capabilities (`.cache/charts/`, or $INFERENCE_RA_CACHE_DIR).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.images import mirror_in_place
from stacks.charts.capabilities import CLUSTER_SCOPED_BUILTINS
from stacks.charts.helm import HelmRenderError, render, sdk_version
from stacks.charts.locate import LocatedChart

RENDERER_VERSION = "5"  # part of the cache key: bump when what is cached (parsed documents) changes
SECRET = "[secret]"
HOOK_ANNOTATION = "helm.sh/hook"
INSTALL_HOOKS = frozenset({"pre-install", "post-install"})
_REPO = Path(__file__).resolve().parents[2]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as Kubernetes reads it: a date and a bare `=` stay strings (sigs.k8s.io/yaml resolves neither; PyYAML
    would make a datetime, and has no constructor for YAML 1.1's `=` value tag)."""


_PLAIN_STRING_TAGS = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in _PLAIN_STRING_TAGS]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def cache_dir() -> Path:
    return Path(os.environ.get("INFERENCE_RA_CACHE_DIR") or _REPO / ".cache") / "charts"


@dataclass(frozen=True)
class RenderedObject:
    template: str  # the template (or crds/ file) inside the chart, e.g. gpu-operator/templates/operator.yaml
    obj: dict[str, Any]
    hook: tuple[str, ...] = ()  # Helm hook events; () for a release object

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")

    @property
    def namespace(self) -> str:
        return str((self.obj.get("metadata") or {}).get("namespace") or "")


@dataclass
class ChartRendering:
    """One chart resource of the plan, rendered."""

    urn: str
    release: str
    namespace: str
    located: LocatedChart
    metadata: dict[str, Any]
    deploy: str  # "chart" (helm.v4.Chart) | "release" (helm.v3.Release)
    kube_version: str
    objects: list[RenderedObject] = field(default_factory=list)  # what the cluster receives from the release
    hooks: list[RenderedObject] = field(default_factory=list)  # every hook the chart renders
    generated: list[tuple[str, str]] = field(default_factory=list)  # (template, path) Helm generates per render
    seconds: float = 0.0
    cached: bool = False

    def file_of(self, obj: RenderedObject) -> str:
        """Path under manifests/ (DESIGN.md plan output contract)."""
        return f"_charts/{self.release}/{obj.namespace or '_cluster'}/{obj.kind}-{obj.name}.yaml"

    @property
    def applied_hooks(self) -> list[RenderedObject]:
        """Hooks Helm runs at install: only a helm.v3.Release runs any."""
        return [h for h in self.hooks if self.deploy == "release" and INSTALL_HOOKS & set(h.hook)]


def _split(template: str, text: str) -> Iterator[dict[str, Any]]:
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise HelmRenderError(f"{template}: rendered output is not YAML: {exc}") from exc
    for doc in docs:
        if doc is None or doc == {}:
            continue
        if not isinstance(doc, dict):
            raise HelmRenderError(f"{template}: a rendered document is not a Kubernetes object: {str(doc)[:80]!r}")
        if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
            yield from (item for item in doc["items"] if isinstance(item, dict))
        else:
            yield doc


def _chart_path_of(path: str) -> str:
    """The (sub)chart a file belongs to: `a/charts/b/templates/x.yaml` -> `a/charts/b`, `a/charts/crds/crds/x.yaml`
    -> `a/charts/crds` (Helm names files `<chart>(/charts/<subchart>)*/<file>`)."""
    parts = path.split("/")
    chart, i = parts[0], 1
    while i + 2 < len(parts) and parts[i] == "charts":
        chart += f"/charts/{parts[i + 1]}"
        i += 2
    return chart


GENERATED = "[generated by Helm at render]"


@dataclass
class RawRender:
    """What Helm rendered, parsed (the cached part)."""

    metadata: dict[str, Any]
    docs: list[tuple[str, dict[str, Any]]]  # (template, object)
    crds: list[tuple[str, dict[str, Any]]]  # (crds/ file, CRD)
    generated: list[tuple[str, str]]  # (template, key path) of values Helm generates anew on every render
    cached: bool = False
    seconds: float = 0.0


def _parse(loaded: Any, skip_crds: bool) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """(documents of every template, crds/ files Helm installs)."""
    docs: list[tuple[str, dict[str, Any]]] = []
    enabled_charts: set[str] = set()
    for template in sorted(loaded.templates):
        enabled_charts.add(_chart_path_of(template))
        text = loaded.templates[template]
        if template.endswith("NOTES.txt") or not text.strip():
            continue
        docs += [(template, doc) for doc in _split(template, text)]
    crd_files: list[str] = []
    if not skip_crds:
        top = str(loaded.metadata.get("name") or "")
        for filename, _text in sorted(loaded.crds):
            owner = _chart_path_of(filename)
            if owner == top or owner in enabled_charts:  # a subchart Helm disabled: its crds/ are not installed
                crd_files.append(filename)
    return docs, crd_files


def _chart_crds(located: LocatedChart, crds: tuple[tuple[str, str], ...]) -> dict[str, list[dict[str, Any]]]:
    """Every crds/ file of the chart, parsed; cached on disk by chart digest (CRDs depend on nothing else, and the
    pinned ones are megabytes of YAML: kube-prometheus-stack's are 4.5 MB)."""
    path = cache_dir() / f"crds-{located.digest.removeprefix('sha256:')}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        pass
    parsed = {filename: list(_split(filename, text)) for filename, text in crds}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(parsed), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass
    return parsed


def _mark_generated(a: Any, b: Any, path: str, found: list[str]) -> Any:
    """`a` with every leaf that differs in `b` (a second render) replaced by GENERATED; paths collected."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return {k: _mark_generated(a[k], b[k], f"{path}.{k}" if path else str(k), found) for k in a}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [_mark_generated(x, y, f"{path}[{i}]", found) for i, (x, y) in enumerate(zip(a, b, strict=True))]
    if a != b:
        found.append(path)
        return GENERATED
    return a


def _cache_key(kind: str, located: LocatedChart, values: dict[str, Any], **fields: Any) -> Path:
    key_doc: dict[str, Any] = {"renderer": RENDERER_VERSION, "kind": kind, "helm": sdk_version()}
    key_doc |= {"digest": located.digest, "values": values, **fields}
    return cache_dir() / f"{hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest()}.json"


def installed_crds(
    located: LocatedChart,
    values: dict[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str,
    api_versions: list[str],
    skip_crds: bool,
) -> list[dict[str, Any]]:
    """The CRDs a chart installs with these inputs (its crds/ and the CRDs its templates render): one render, only
    CRD documents parsed; cached. What the capability passes of stacks/charts/plan.py need, at a fraction of a full
    render."""
    path = _cache_key(
        "crds", located, values, release=release, namespace=namespace, kube=kube_version, apis=sorted(api_versions)
    )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files, templated = data["crdFiles"], data["templated"]
    except (OSError, ValueError, KeyError):
        loaded = render(
            located.path,
            values,
            release=release,
            namespace=namespace,
            kube_version=kube_version,
            api_versions=api_versions,
        )
        templated = [
            doc
            for template, text in sorted(loaded.templates.items())
            if "CustomResourceDefinition" in text and not template.endswith("NOTES.txt")
            for doc in _split(template, text)
            if doc.get("kind") == "CustomResourceDefinition" and not hook_events(doc)
        ]
        _docs, files = _parse(_CrdsOnly(loaded), skip_crds)
        if files:
            _chart_crds(located, loaded.crds)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"crdFiles": files, "templated": templated}), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass
    parsed = _chart_crds(located, ()) if files else {}
    return [d for f in files for d in parsed[f]] + list(templated)


@dataclass(frozen=True)
class _CrdsOnly:
    """A loaded chart whose templates are not parsed (only which subcharts rendered matters)."""

    loaded: Any

    @property
    def metadata(self) -> dict[str, Any]:
        return self.loaded.metadata  # type: ignore[no-any-return]

    @property
    def crds(self) -> tuple[tuple[str, str], ...]:
        return self.loaded.crds  # type: ignore[no-any-return]

    @property
    def templates(self) -> dict[str, str]:
        return {t: "" for t in self.loaded.templates}  # names only: enabled subcharts, nothing to parse


def raw_render(
    located: LocatedChart,
    values: dict[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str,
    api_versions: list[str],
    skip_crds: bool,
) -> RawRender:
    """Render (twice: what differs between two renders is generated by Helm functions such as randAlphaNum or
    genCA, and is replaced by a marker so that synth stays deterministic) — cached on disk."""
    path = _cache_key(
        "render",
        located,
        values,
        release=release,
        namespace=namespace,
        kube=kube_version,
        apis=sorted(api_versions),
        skipCrds=skip_crds,
    )
    start = time.perf_counter()
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            parsed = _chart_crds(located, ()) if data["crdFiles"] else {}
            return RawRender(
                data["metadata"],
                [(t, d) for t, d in data["docs"]],
                [(f, d) for f in data["crdFiles"] for d in parsed[f]],
                [(t, p) for t, p in data["generated"]],
                cached=True,
                seconds=time.perf_counter() - start,
            )
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is rendered again
    args: dict[str, Any] = {
        "release": release,
        "namespace": namespace,
        "kube_version": kube_version,
        "api_versions": api_versions,
    }
    loaded = render(located.path, values, **args)
    docs, crd_files = _parse(loaded, skip_crds)
    parsed = _chart_crds(located, loaded.crds) if crd_files else {}
    crds = [(f, d) for f in crd_files for d in parsed[f]]
    again = render(located.path, values, **args).templates
    generated: list[tuple[str, str]] = []
    changed = sorted(t for t, text in loaded.templates.items() if again.get(t) != text)
    for template in changed:  # parse only what differs between the two renders
        mine = [i for i, (t, _) in enumerate(docs) if t == template]
        other = list(_split(template, again.get(template) or ""))
        if len(other) != len(mine):
            raise HelmRenderError(f"{template}: two renders of the same input differ in their objects")
        for i, doc in zip(mine, other, strict=True):
            found: list[str] = []
            docs[i] = (template, _mark_generated(docs[i][1], doc, "", found))
            generated += [(template, p) for p in found]
    raw = RawRender(loaded.metadata, docs, crds, generated, seconds=time.perf_counter() - start)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        doc = {"metadata": raw.metadata, "docs": raw.docs, "crdFiles": crd_files, "generated": raw.generated}
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only checkout only costs the render next time
    return raw


def hook_events(doc: Mapping[str, Any]) -> tuple[str, ...]:
    ann = (doc.get("metadata") or {}).get("annotations") or {}
    raw = ann.get(HOOK_ANNOTATION) if isinstance(ann, Mapping) else None
    return tuple(e.strip() for e in str(raw).split(",") if e.strip()) if raw else ()


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return SECRET


def normalize(
    doc: dict[str, Any],
    namespace: str,
    namespaced: Mapping[tuple[str, str], bool],
    mirror: str | None,
) -> dict[str, Any]:
    out = doc  # a fresh parse (cache or Helm): changed in place, not copied (CRDs are megabytes)
    if out.get("kind") != "CustomResourceDefinition":
        mirror_in_place(out, mirror)  # images under the mirror when one is set
    meta = out.setdefault("metadata", {})
    group = str(out.get("apiVersion") or "").rpartition("/")[0]
    kind = str(out.get("kind") or "")
    if (group, kind) in namespaced:
        scoped = namespaced[(group, kind)]
    else:  # a built-in cluster-scoped kind, else namespaced (pulumi-kubernetes' assumption without discovery)
        builtin = group == "" or "." not in group or group.endswith(".k8s.io")
        scoped = not (builtin and kind in CLUSTER_SCOPED_BUILTINS)
    if scoped and not meta.get("namespace"):
        meta["namespace"] = namespace
    if kind == "Secret" and group == "":
        for key in ("data", "stringData"):
            if out.get(key) is not None:
                out[key] = _redact(out[key])
    return out
