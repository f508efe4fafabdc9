"""Reference integrity: every name a pod or custom resource refers to exists (`validate`, fails closed).

A reference resolves to an object of the plan, an object a chart renders, an object Kubernetes provides, or one an
operator of the stack creates at run time (components/catalog/runtime_objects.py, each with its source). What
only a Helm hook creates does not exist for a chart deployed as helm.v4.Chart (it never runs hooks): such a
reference is a finding naming the hook and the fix (issue 16 item 3). References marked `optional: true` need no
target. Checked:
- pods (every pod template, Dynamo graphs included): ServiceAccount, Secrets and ConfigMaps (volumes, projected
  sources, env, envFrom, imagePullSecrets), PVCs, PriorityClass, RuntimeClass, ResourceClaimTemplates, the KAI
  queue label, NetworkAttachmentDefinitions of the Multus annotation;
- StorageClasses of PVCs, StatefulSet claim templates and Prometheus/Alertmanager storage;
- KAI: a graph's queue annotation, a queue's parent;
- IPPools of NV-IPAM configs (NADs and Network Operator secondary networks);
- Services behind ServiceMonitors (by label selector), webhooks and APIServices; roleRefs of bindings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.catalog.runtime_objects import (
    BUILTIN_CLUSTER,
    BUILTIN_CLUSTER_ROLE_PREFIX,
    BUILTIN_NAMESPACED,
    BUILTIN_ROLES,
    RUNTIME_OBJECTS,
    RuntimeObject,
)
from components.charts import CHART_TYPES
from policies.workloads import pods
from stacks.charts.capabilities import CLUSTER_SCOPED_BUILTINS

if TYPE_CHECKING:
    from components.spec import StackSpec
    from stacks.charts.loaded import ChartView
    from stacks.validate import Finding

NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"
QUEUE_LABELS = ("kai.scheduler/queue", "runai/queue")
QUEUE_ANNOTATION = "nvidia.com/kai-scheduler-queue"
CLUSTER_SCOPED_CUSTOM = frozenset({"Queue", "IPoIBNetwork", "MacvlanNetwork", "HostDeviceNetwork", "ClusterPolicy"})


@dataclass(frozen=True)
class Source:
    """Where an object comes from, for messages: the plan, or a chart's template."""

    type: str
    obj: Mapping[str, Any]
    origin: str  # "" (the plan) or "chart <release> template <path>"
    chart: ChartView | None = None

    @property
    def label(self) -> str:
        meta = self.obj.get("metadata") or {}
        ns = meta.get("namespace")
        what = f"{self.obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"
        return f"{what} ({self.origin})" if self.origin else what


@dataclass(frozen=True)
class Ref:
    kind: str
    name: str
    namespace: str  # "" for cluster-scoped kinds
    path: str  # where in the referring object
    labels: tuple[tuple[str, str], ...] = ()  # a label-selected Service (monitor): name is "" then
    namespaces: tuple[str, ...] = ()  # with labels: where to look ("*" any)


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _ns(obj: Mapping[str, Any]) -> str:
    return str(_map(obj.get("metadata")).get("namespace") or "default")


def _scoped(kind: str) -> bool:
    return kind not in CLUSTER_SCOPED_BUILTINS and kind not in CLUSTER_SCOPED_CUSTOM


# ------------------------------------------------------------------------------------------------ extraction
def _nad_refs(value: Any, namespace: str, path: str) -> Iterator[Ref]:
    text = str(value or "").strip()
    if not text:
        return
    items: list[tuple[str, str]] = []
    if text.startswith("["):
        try:
            for entry in json.loads(text):
                if isinstance(entry, Mapping) and entry.get("name"):
                    items.append((str(entry.get("namespace") or namespace), str(entry["name"])))
        except ValueError:
            return
    else:
        for part in text.split(","):
            part = part.strip().split("@", 1)[0]
            if part:
                ns, _, name = part.rpartition("/")
                items.append((ns or namespace, name))
    for ns, name in items:
        yield Ref("NetworkAttachmentDefinition", name, ns, path)


def _pod_refs(resource_type: str, obj: Mapping[str, Any]) -> Iterator[Ref]:
    for pod in pods(resource_type, obj):
        spec, ns, base = pod.spec, pod.namespace, pod.path
        sa = spec.get("serviceAccountName") or spec.get("serviceAccount")
        if sa:
            yield Ref("ServiceAccount", str(sa), ns, f"{base}.serviceAccountName")
        if spec.get("priorityClassName"):
            yield Ref("PriorityClass", str(spec["priorityClassName"]), "", f"{base}.priorityClassName")
        if spec.get("runtimeClassName"):
            yield Ref("RuntimeClass", str(spec["runtimeClassName"]), "", f"{base}.runtimeClassName")
        for i, s in enumerate(_seq(spec.get("imagePullSecrets"))):
            if _map(s).get("name"):
                yield Ref("Secret", str(s["name"]), ns, f"{base}.imagePullSecrets[{i}]")
        for i, vol in enumerate(_seq(spec.get("volumes"))):
            vol = _map(vol)
            at = f"{base}.volumes[{i}]"
            secret, cm, pvc = (
                _map(vol.get("secret")),
                _map(vol.get("configMap")),
                _map(vol.get("persistentVolumeClaim")),
            )
            if secret.get("secretName") and not secret.get("optional"):
                yield Ref("Secret", str(secret["secretName"]), ns, f"{at}.secret")
            if cm.get("name") and not cm.get("optional"):
                yield Ref("ConfigMap", str(cm["name"]), ns, f"{at}.configMap")
            if pvc.get("claimName"):
                yield Ref("PersistentVolumeClaim", str(pvc["claimName"]), ns, f"{at}.persistentVolumeClaim")
            for j, src in enumerate(_seq(_map(vol.get("projected")).get("sources"))):
                for key, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                    ref = _map(_map(src).get(key))
                    if ref.get("name") and not ref.get("optional"):
                        yield Ref(kind, str(ref["name"]), ns, f"{at}.projected.sources[{j}].{key}")
        for i, claim in enumerate(_seq(spec.get("resourceClaims"))):
            claim = _map(claim)
            if claim.get("resourceClaimTemplateName"):
                yield Ref(
                    "ResourceClaimTemplate", str(claim["resourceClaimTemplateName"]), ns, f"{base}.resourceClaims[{i}]"
                )
            elif claim.get("resourceClaimName"):
                yield Ref("ResourceClaim", str(claim["resourceClaimName"]), ns, f"{base}.resourceClaims[{i}]")
        for c in pod.containers:
            for i, env in enumerate(_seq(c.spec.get("env"))):
                vf = _map(_map(env).get("valueFrom"))
                for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                    ref = _map(vf.get(key))
                    if ref.get("name") and not ref.get("optional"):
                        yield Ref(kind, str(ref["name"]), ns, f"{c.path}.env[{i}].valueFrom.{key}")
            for i, src in enumerate(_seq(c.spec.get("envFrom"))):
                for key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                    ref = _map(_map(src).get(key))
                    if ref.get("name") and not ref.get("optional"):
                        yield Ref(kind, str(ref["name"]), ns, f"{c.path}.envFrom[{i}].{key}")
    # pod metadata of templates: queue labels and Multus networks
    for meta_path in ("spec.template.metadata", "metadata"):
        meta = _map(_get(obj, meta_path))
        if meta_path == "metadata" and obj.get("kind") not in ("Pod",):
            continue
        labels, ann = _map(meta.get("labels")), _map(meta.get("annotations"))
        for key in QUEUE_LABELS:
            if labels.get(key):
                yield Ref("Queue", str(labels[key]), "", f"{meta_path}.labels.{key}")
        if ann.get(NETWORKS_ANNOTATION):
            yield from _nad_refs(ann[NETWORKS_ANNOTATION], _ns(obj), f"{meta_path}.annotations.{NETWORKS_ANNOTATION}")
    if obj.get("kind") == "DynamoGraphDeployment":
        for i, comp in enumerate(_seq(_get(obj, "spec.components"))):
            tmeta = _map(_get(comp, "podTemplate.metadata"))
            for key in QUEUE_LABELS:
                if _map(tmeta.get("labels")).get(key):
                    yield Ref("Queue", str(tmeta["labels"][key]), "", f"spec.components[{i}].podTemplate.metadata")
            net = _map(tmeta.get("annotations")).get(NETWORKS_ANNOTATION)
            if net:
                yield from _nad_refs(net, _ns(obj), f"spec.components[{i}].podTemplate.metadata.annotations")


def _ipam_pools(config: Any) -> list[str]:
    try:
        doc = json.loads(config) if isinstance(config, str) else config
    except ValueError:
        return []
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            if value.get("type") == "nv-ipam" and value.get("poolName"):
                found.extend(p.strip() for p in str(value["poolName"]).split(",") if p.strip())
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(doc)
    return found


def _storage_class(value: Any, path: str) -> Iterator[Ref]:
    if isinstance(value, str) and value:
        yield Ref("StorageClass", value, "", path)


def object_refs(resource_type: str, obj: Mapping[str, Any]) -> Iterator[Ref]:
    """Every reference of one object."""
    kind = str(obj.get("kind") or "")
    ns = _ns(obj)
    yield from _pod_refs(resource_type, obj)
    if kind == "PersistentVolumeClaim":
        yield from _storage_class(_get(obj, "spec.storageClassName"), "spec.storageClassName")
    if kind == "StatefulSet":
        for i, vct in enumerate(_seq(_get(obj, "spec.volumeClaimTemplates"))):
            yield from _storage_class(_get(vct, "spec.storageClassName"), f"spec.volumeClaimTemplates[{i}]")
    if kind in ("Prometheus", "Alertmanager", "ThanosRuler"):
        path = "spec.storage.volumeClaimTemplate.spec.storageClassName"
        yield from _storage_class(_get(obj, path), path)
    if kind == "DynamoGraphDeployment" and _map(_get(obj, "metadata.annotations")).get(QUEUE_ANNOTATION):
        queue = str(obj["metadata"]["annotations"][QUEUE_ANNOTATION])
        yield Ref("Queue", queue, "", f"metadata.annotations.{QUEUE_ANNOTATION}")
    if kind == "Queue" and _get(obj, "spec.parentQueue"):
        yield Ref("Queue", str(_get(obj, "spec.parentQueue")), "", "spec.parentQueue")
    if kind == "NetworkAttachmentDefinition":
        for pool in _ipam_pools(_get(obj, "spec.config")):
            yield Ref("IPPool", pool, "*", "spec.config.ipam.poolName")
    if kind in ("IPoIBNetwork", "MacvlanNetwork", "HostDeviceNetwork"):
        for pool in _ipam_pools(_get(obj, "spec.ipam")):
            yield Ref("IPPool", pool, "*", "spec.ipam.poolName")
    if kind == "ServiceMonitor":
        selector = _map(_get(obj, "spec.selector"))
        labels = tuple(sorted((str(k), str(v)) for k, v in _map(selector.get("matchLabels")).items()))
        nsel = _map(_get(obj, "spec.namespaceSelector"))
        where = ("*",) if nsel.get("any") else tuple(str(n) for n in _seq(nsel.get("matchNames"))) or (ns,)
        if labels:
            yield Ref("Service", "", "", "spec.selector", labels, where)
    if kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for i, hook in enumerate(_seq(obj.get("webhooks"))):
            svc = _map(_get(hook, "clientConfig.service"))
            if svc.get("name"):
                yield Ref("Service", str(svc["name"]), str(svc.get("namespace") or "default"), f"webhooks[{i}]")
    if kind == "APIService":
        svc = _map(_get(obj, "spec.service"))
        if svc.get("name"):
            yield Ref("Service", str(svc["name"]), str(svc.get("namespace") or "default"), "spec.service")
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        role = _map(obj.get("roleRef"))
        if role.get("kind") == "ClusterRole":
            yield Ref("ClusterRole", str(role.get("name")), "", "roleRef")
        elif role.get("kind") == "Role":
            yield Ref("Role", str(role.get("name")), ns, "roleRef")


# ------------------------------------------------------------------------------------------------ resolution
@dataclass
class _Index:
    keys: set[tuple[str, str, str]]
    services: list[tuple[str, Mapping[str, str]]]  # (namespace, labels)
    hooks: dict[tuple[str, str, str], tuple[ChartView, str, tuple[str, ...]]]  # key -> (chart, template, events)


def _key(kind: str, namespace: str, name: str) -> tuple[str, str, str]:
    return (kind, namespace if _scoped(kind) else "", name)


def _index(sources: list[Source], views: list[ChartView]) -> _Index:
    keys: set[tuple[str, str, str]] = set()
    services: list[tuple[str, Mapping[str, str]]] = []
    for s in sources:
        meta = _map(s.obj.get("metadata"))
        kind, name = str(s.obj.get("kind") or ""), str(meta.get("name") or "")
        keys.add(_key(kind, _ns(s.obj), name))
        if kind == "Service":
            services.append((_ns(s.obj), _map(meta.get("labels"))))
    hooks = {}
    for view in views:
        for h in view.hooks:
            if not h.runs:
                hooks[_key(h.kind, h.namespace or view.namespace, h.name)] = (view, h.template, h.events)
    return _Index(keys, services, hooks)


def _runtime_matches(
    ref: Ref, sources: list[Source], views: list[ChartView]
) -> Iterator[tuple[RuntimeObject, ChartView | None]]:
    """Catalog entries that create the referenced object in this stack (with the chart view that brings them)."""
    for entry in RUNTIME_OBJECTS:
        if entry.kind != ref.kind:
            continue
        if entry.from_kind:
            for s in sources:
                group = str(s.obj.get("apiVersion") or "").rpartition("/")[0]
                if group != entry.from_group or s.obj.get("kind") not in entry.from_kind:
                    continue
                name = _get(s.obj, entry.name_path)
                ns = str(_get(s.obj, entry.namespace_path) or "") if entry.namespace_path else _ns(s.obj)
                if name == ref.name and (not _scoped(ref.kind) or ns == ref.namespace):
                    yield entry, None
            continue
        for view in views if entry.chart else [None]:
            if view is not None and (view.chart != entry.chart or view.skipped):
                continue
            release, release_ns = (view.release, view.namespace) if view is not None else ("", "")
            ns = {"*": ref.namespace, "{namespace}": release_ns}.get(entry.namespace, entry.namespace)
            if ref.labels:
                if all(entry.labels.get(k) == v for k, v in ref.labels) and (
                    "*" in ref.namespaces or ns in ref.namespaces
                ):
                    yield entry, view
                continue
            names = {n.replace("{release}", release).replace("{namespace}", release_ns) for n in entry.names}
            if ref.name in names and (not _scoped(ref.kind) or ns == ref.namespace):
                yield entry, view


def _builtin(ref: Ref) -> bool:
    if ref.kind == "ClusterRole" and ref.name.startswith(BUILTIN_CLUSTER_ROLE_PREFIX):
        return True
    if ref.kind == "Role" and (ref.namespace, ref.name) in BUILTIN_ROLES:
        return True
    return (ref.kind, ref.name) in (BUILTIN_NAMESPACED if _scoped(ref.kind) else BUILTIN_CLUSTER)


def _exists(ref: Ref, index: _Index) -> bool:
    if ref.labels:
        return any(
            ("*" in ref.namespaces or ns in ref.namespaces) and all(labels.get(k) == v for k, v in ref.labels)
            for ns, labels in index.services
        )
    if ref.namespace == "*":
        return any(k[0] == ref.kind and k[2] == ref.name for k in index.keys)
    return _key(ref.kind, ref.namespace, ref.name) in index.keys


def _describe(ref: Ref) -> str:
    if ref.labels:
        where = "any namespace" if "*" in ref.namespaces else ", ".join(ref.namespaces)
        return f"a Service labelled {dict(ref.labels)} in {where}"
    if ref.namespace and ref.namespace != "*":
        return f"{ref.kind} {ref.namespace}/{ref.name}"
    return f"{ref.kind} {ref.name}"


@dataclass(frozen=True)
class Declared:
    """An object the spec names as existing in the cluster already (created by its admins), with the key path."""

    kind: str
    namespace: str
    name: str
    key: str


def spec_declared(spec: StackSpec | None) -> list[Declared]:
    """Objects the stack spec declares as pre-existing: the model cache's StorageClass, the parallel filesystem's
    CSI secret, Triton's S3 credentials Secret. Each is the user's promise, named by its key path."""
    if spec is None:
        return []
    out = []
    cache = spec.storage.model_cache
    if cache.storage_class:
        out.append(Declared("StorageClass", "", cache.storage_class, "storage.modelCache.storageClass"))
    csi = spec.storage.parallel_fs.csi
    if csi.secret_name:
        ns = csi.secret_namespace or "*"
        out.append(Declared("Secret", ns, csi.secret_name, "storage.parallelFs.csi.secretName"))
    for i, t in enumerate(spec.serving.triton):
        if t.s3_credentials_secret:
            out.append(
                Declared("Secret", t.namespace, t.s3_credentials_secret, f"serving.triton[{i}].s3CredentialsSecret")
            )
    return out


def _declared(ref: Ref, declared: list[Declared]) -> bool:
    return any(
        d.kind == ref.kind and d.name == ref.name and (not _scoped(ref.kind) or d.namespace in ("*", ref.namespace))
        for d in declared
    )


def check_references(
    plan_json: Mapping[str, Any], views: list[ChartView], spec: StackSpec | None = None
) -> list[Finding]:
    """Every reference of every plan and chart object that resolves to nothing the stack creates, the cluster has,
    or the spec declares as existing."""
    from stacks.charts.loaded import child_type
    from stacks.validate import Finding

    sources: list[Source] = []
    for r in plan_json.get("resources", []):
        inputs = r.get("inputs") or {}
        if r.get("type", "").startswith("kubernetes:") and r.get("type") not in CHART_TYPES and "kind" in inputs:
            sources.append(Source(r["type"], inputs, ""))
    for view in views:
        for o in view.objects:
            origin = f"chart {view.release} template {o.template}"
            sources.append(Source(child_type(str(o.obj.get("apiVersion") or ""), o.kind), o.obj, origin, view))
    index = _index(sources, views)
    declared = spec_declared(spec)
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for s in sources:
        for ref in object_refs(s.type, s.obj):
            if _builtin(ref) or _exists(ref, index) or _declared(ref, declared):
                continue
            message = _unresolved(ref, index, sources, views)
            if message is None:
                continue
            key = (s.label, ref.path, message)
            if key not in seen:
                seen.add(key)
                findings.append(Finding(s.label, ref.path, message))
    return findings


def _unresolved(ref: Ref, index: _Index, sources: list[Source], views: list[ChartView]) -> str | None:
    """None when an operator of the stack creates the object; else the finding's message."""
    what = _describe(ref)
    for entry, view in _runtime_matches(ref, sources, views):
        if not entry.hook:
            return None  # created at run time by an operator the stack deploys
        assert view is not None
        if view.deploy == "helm.v3.Release":
            return None  # Helm runs the hook
        return (
            f"references {what}, which only the Helm hook {entry.hook} of {view.label} creates ({entry.creator}); "
            f"{view.label} is deployed as helm.v4.Chart, which never runs hooks, so it will not exist. Fix: "
            f"{entry.fix or 'values that need no hook, or deploy the chart as helm.v3.Release'} [{entry.source}]"
        )
    hook = index.hooks.get(_key(ref.kind, ref.namespace, ref.name)) if not ref.labels else None
    if hook is not None:
        view, template, events = hook
        return (
            f"references {what}, which {view.label} creates only as a Helm hook ({template}, {', '.join(events)}); "
            f"{view.label} is deployed as helm.v4.Chart, which never runs hooks, so it will not exist. Fix: set the "
            "chart's values so the object is a release object (components/catalog/versions.py records the "
            "decision), or deploy the chart as helm.v3.Release"
        )
    return (
        f"references {what}, which neither the plan nor any chart creates, and no operator of the stack creates at "
        "run time (components/catalog/runtime_objects.py)"
    )


def refs_of(objects: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Ref]:
    """References of (type, object) pairs (tests and docs)."""
    return [ref for t, o in objects for ref in object_refs(t, o)]
