"""Where pods live in the resources of a stack: every pod template, container, and the GPU facts about them.

Pod templates come from the core workload kinds (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
CronJob, PodTemplate, LeaderWorkerSet) and from Dynamo graphs: v1beta1 `spec.components[].podTemplate` (a full
PodTemplateSpec, container `main`) and v1alpha1 `spec.services.<name>` (`extraPodSpec` + `mainContainer`, with the
service-level `resources`/`envs` applying to the main container). Pods that Helm charts create are resources too:
`check` and report.md add every object synth renders from a chart (stacks/charts/loaded.py chart_resources), and
CrossGuard sees a chart's children as the Kubernetes provider registers them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.constants import GPU_TAINT

GPU_RESOURCE = "nvidia.com/gpu"
DGD_KIND = "DynamoGraphDeployment"

_TEMPLATE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Pod": (("spec",),),
    "Deployment": (("spec", "template", "spec"),),
    "StatefulSet": (("spec", "template", "spec"),),
    "DaemonSet": (("spec", "template", "spec"),),
    "ReplicaSet": (("spec", "template", "spec"),),
    "Job": (("spec", "template", "spec"),),
    "CronJob": (("spec", "jobTemplate", "spec", "template", "spec"),),
    "PodTemplate": (("template", "spec"),),
    "LeaderWorkerSet": (
        ("spec", "leaderWorkerTemplate", "leaderTemplate", "spec"),
        ("spec", "leaderWorkerTemplate", "workerTemplate", "spec"),
    ),
}


def mapping(obj: Any, key: str) -> Mapping[str, Any]:
    """`obj[key]` when it is a mapping, else an empty one: inputs may be partial or shaped unexpectedly."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def kind_of(resource_type: str, props: Mapping[str, Any]) -> str:
    """Kubernetes kind of a resource (`kubernetes:apps/v1:Deployment` -> Deployment); Patch types excluded."""
    if not resource_type.startswith("kubernetes:"):
        return ""
    kind = props.get("kind") if isinstance(props.get("kind"), str) else resource_type.rsplit(":", 1)[-1]
    return "" if resource_type.endswith("Patch") else str(kind)


def namespace_of(props: Mapping[str, Any]) -> str:
    meta = props.get("metadata")
    return str(meta.get("namespace") or "default") if isinstance(meta, Mapping) else "default"


def name_of(props: Mapping[str, Any]) -> str:
    meta = props.get("metadata")
    return str(meta.get("name") or "") if isinstance(meta, Mapping) else ""


@dataclass(frozen=True)
class Container:
    path: str  # key path inside props, e.g. spec.template.spec.containers[0]
    spec: Mapping[str, Any]
    init: bool = False

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or "?")

    def resources(self, key: str) -> Mapping[str, Any]:
        res = self.spec.get("resources")
        val = res.get(key) if isinstance(res, Mapping) else None
        return val if isinstance(val, Mapping) else {}


@dataclass(frozen=True)
class PodView:
    """One pod template of a resource."""

    path: str  # key path of the pod spec
    namespace: str
    spec: Mapping[str, Any]
    containers: tuple[Container, ...]
    role: str = ""  # Dynamo component type (frontend, worker, prefill, decode, ...) or ""
    node_count: int = 1  # Dynamo multinode nodeCount
    args: tuple[str, ...] = field(default=())  # engine arguments of the main container (Dynamo)

    def gpu_limit(self, container: Container) -> int:
        return _quantity_int(container.resources("limits").get(GPU_RESOURCE))

    @property
    def requests_gpus(self) -> bool:
        return any(
            GPU_RESOURCE in c.resources("limits") or GPU_RESOURCE in c.resources("requests") for c in self.containers
        )

    @property
    def tolerates_gpu_taint(self) -> bool:
        return any(tolerates(t, GPU_TAINT) for t in _seq(self.spec.get("tolerations")))


def tolerates(toleration: Any, taint: Mapping[str, str]) -> bool:
    """Kubernetes toleration matching (core/v1 Toleration semantics)."""
    if not isinstance(toleration, Mapping):
        return False
    key, op = toleration.get("key") or "", toleration.get("operator") or "Equal"
    effect = toleration.get("effect") or ""
    if effect and effect != taint["effect"]:
        return False
    if not key:
        return op == "Exists"
    if key != taint["key"]:
        return False
    return op == "Exists" or (toleration.get("value") or "") == taint["value"]


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _get(obj: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _quantity_int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def _containers(pod: Mapping[str, Any], path: str) -> list[Container]:
    out: list[Container] = []
    for key, init in (("initContainers", True), ("containers", False), ("ephemeralContainers", False)):
        for i, c in enumerate(_seq(pod.get(key))):
            if isinstance(c, Mapping):
                out.append(Container(f"{path}.{key}[{i}]", c, init))
    return out


def _alpha_service(name: str, svc: Mapping[str, Any], namespace: str, graph_env: list[Any]) -> PodView:
    """A v1alpha1 service as a pod: extraPodSpec, with the service-level resources/envs on mainContainer."""
    base = f"spec.services.{name}"
    pod = mapping(svc, "extraPodSpec")
    main = dict(pod.get("mainContainer") or {}) if isinstance(pod.get("mainContainer"), Mapping) else {}
    main.setdefault("name", "main")
    res = mapping(svc, "resources")
    translated: dict[str, dict[str, Any]] = {}
    for key in ("requests", "limits"):
        src = mapping(res, key)
        out: dict[str, Any] = {}
        for k in ("cpu", "memory"):
            if src.get(k) is not None:
                out[k] = src[k]
        if src.get("gpu") is not None:
            out[str(src.get("gpuType") or GPU_RESOURCE)] = src["gpu"]
        custom = src.get("custom")
        if isinstance(custom, Mapping):
            out.update(custom)
        if out:
            translated[key] = out
    if translated:
        main["resources"] = {**translated, **(main.get("resources") or {})}
    env = [*graph_env, *_seq(svc.get("envs")), *_seq(main.get("env"))]
    if env:
        main["env"] = env
    containers = [Container(f"{base}.extraPodSpec.mainContainer", main)]
    containers += _containers(pod, f"{base}.extraPodSpec")
    multinode = svc.get("multinode")
    role = str(svc.get("subComponentType") or svc.get("componentType") or "")
    return PodView(
        f"{base}.extraPodSpec",
        namespace,
        pod,
        tuple(containers),
        role=role,
        node_count=_quantity_int(multinode.get("nodeCount")) if isinstance(multinode, Mapping) else 1,
        args=tuple(str(a) for a in _seq(main.get("args"))),
    )


def _beta_component(i: int, comp: Mapping[str, Any], namespace: str, graph_env: list[Any]) -> PodView:
    base = f"spec.components[{i}]"
    tmpl = mapping(comp, "podTemplate")
    pod = mapping(tmpl, "spec")
    containers = _containers(pod, f"{base}.podTemplate.spec")
    if graph_env:  # spec.env applies to every component's main container
        containers = [
            Container(c.path, {**c.spec, "env": [*graph_env, *_seq(c.spec.get("env"))]}, c.init)
            if c.name == "main"
            else c
            for c in containers
        ]
    main = next((c for c in containers if c.name == "main"), None)
    multinode = comp.get("multinode")
    return PodView(
        f"{base}.podTemplate.spec",
        namespace,
        pod,
        tuple(containers),
        role=str(comp.get("type") or ""),
        node_count=_quantity_int(multinode.get("nodeCount")) or 2 if isinstance(multinode, Mapping) else 1,
        args=tuple(str(a) for a in _seq(main.spec.get("args"))) if main else (),
    )


def pods(resource_type: str, props: Mapping[str, Any]) -> Iterator[PodView]:
    """Every pod template of a resource (none for non-workload resources)."""
    kind = kind_of(resource_type, props)
    if not kind:
        return
    ns = namespace_of(props)
    if kind == DGD_KIND:
        spec = mapping(props, "spec")
        api = str(props.get("apiVersion") or resource_type.split(":")[1])
        if "v1alpha1" in api:
            env = _seq(spec.get("envs"))
            services = spec.get("services")
            for name, svc in sorted(services.items()) if isinstance(services, Mapping) else []:
                if isinstance(svc, Mapping):
                    yield _alpha_service(str(name), svc, ns, env)
        else:
            env = _seq(spec.get("env"))
            for i, comp in enumerate(_seq(spec.get("components"))):
                if isinstance(comp, Mapping):
                    yield _beta_component(i, comp, ns, env)
        return
    for path in _TEMPLATE_PATHS.get(kind, ()):
        pod = _get(props, path)
        if isinstance(pod, Mapping):
            where = ".".join(path)
            yield PodView(where, ns, pod, tuple(_containers(pod, where)))
