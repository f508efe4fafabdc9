"""Pod Security rules: every pod template passes the Pod Security Standards level its namespace enforces, our own
pods are hardened to `restricted` (save scoped exemptions), and no namespace enforces a looser level than its pods
need.

The rules take *pod bearers*: objects with pod templates (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod,
ReplicaSet, PodTemplate, LeaderWorkerSet, and every component of a DynamoGraphDeployment: policies/workloads.py) and
the level of each namespace. Today they come from the stack's resources (`bearers`). Hook for Helm charts rendered
offline: feed the rendered chart objects as more `PodBearer`s (`PodBearer.from_manifest(chart_urn, manifest)`) to
`admission_violations`, and drop their namespace from `_chart_namespaces` (see `least_privilege_namespaces`), so chart
pods are judged like ours. Until then chart pods are invisible here (docs/policy.md).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.charts import CHART_TYPES
from components.namespaces import PRIVILEGED_NAMESPACES
from policies import pss
from policies.exemptions import efa_nixl_worker, granted_capabilities
from policies.registry import Resource, RuleContext, stack_rule
from policies.workloads import PodView, kind_of, mapping, name_of, namespace_of, pods


@dataclass(frozen=True)
class PodBearer:
    """An object that carries pod templates, with the URN findings point at."""

    urn: str
    label: str  # "<Kind> <namespace>/<name>"
    type: str  # Pulumi type token (or `kubernetes:<group>/<version>:<Kind>` for a rendered chart object)
    props: Mapping[str, Any]
    rendered: bool = False  # an object rendered from a chart: the URN is the chart's, so messages name the object

    @property
    def prefix(self) -> str:
        return f"{self.label}: " if self.rendered else ""

    @classmethod
    def from_manifest(cls, urn: str, manifest: Mapping[str, Any]) -> PodBearer:
        api, kind = str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
        group, _, version = api.rpartition("/")
        meta = mapping(manifest, "metadata")
        label = f"{kind} {meta.get('namespace', 'default')}/{meta.get('name', '')}"
        return cls(urn, label, f"kubernetes:{group or 'core'}/{version}:{kind}", manifest, rendered=True)

    def pods(self) -> list[tuple[PodView, Mapping[str, Any]]]:
        """(pod view, pod template metadata) of every pod template."""
        return [(p, _template_meta(self.props, p.path)) for p in pods(self.type, self.props)]


def _template_meta(props: Mapping[str, Any], spec_path: str) -> Mapping[str, Any]:
    """The metadata next to a pod spec (`...template.spec` -> `...template.metadata`; a Pod's own metadata)."""
    parts = spec_path.split(".")
    obj: Any = props
    for part in [*parts[:-1], "metadata"]:
        if "[" in part:
            key, _, idx = part.partition("[")
            obj = obj.get(key) if isinstance(obj, Mapping) else None
            obj = obj[int(idx.rstrip("]"))] if isinstance(obj, Sequence) and not isinstance(obj, str) else None
        else:
            obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


def bearers(resources: Sequence[Resource]) -> list[PodBearer]:
    return [PodBearer(r.urn, r.label, r.type, r.props) for r in resources if any(True for _ in pods(r.type, r.props))]


def namespace_levels(resources: Sequence[Resource], configured: Mapping[str, str]) -> dict[str, str]:
    """Enforced level per namespace: the `pod-security.kubernetes.io/enforce` label of the stack's Namespace objects,
    then `configured` (namespaces the stack does not create)."""
    levels = dict(configured)
    for r in resources:
        if kind_of(r.type, r.props) == "Namespace":
            labels = mapping(mapping(r.props, "metadata"), "labels")
            levels[name_of(r.props)] = str(labels.get(pss.ENFORCE_LABEL) or "privileged")
    return levels


def admission_violations(
    objects: Iterable[PodBearer], levels: Mapping[str, str], default_level: str
) -> Iterator[tuple[str, str]]:
    """(urn, message) for every pod template the API server would reject under its namespace's enforced level."""
    for obj in objects:
        for pod, meta in obj.pods():
            level = levels.get(pod.namespace, default_level)
            for v in pss.check_pod(pod.spec, level, meta):
                yield (
                    obj.urn,
                    (f"{obj.prefix}{pod.path} is rejected by namespace {pod.namespace!r} (enforces PSS {level}): {v}"),
                )


_LEVEL_SCHEMA = {"type": "string", "enum": list(pss.LEVELS)}


@stack_rule(
    "pod-security-admission",
    "Every pod template (Deployments, Jobs, DaemonSets, CronJobs, StatefulSets, Dynamo graph components) passes the "
    "Pod Security Standards level its namespace enforces, so the API server admits it.",
    level="mandatory",
    severity="critical",
    config={
        "namespaceLevels": {
            "type": "object",
            "additionalProperties": _LEVEL_SCHEMA,
            "default": {"kube-system": "privileged"},
            "description": "Enforced level of namespaces the stack does not create (its Namespaces carry the label).",
        },
        "defaultLevel": {
            **_LEVEL_SCHEMA,
            "default": "privileged",
            "description": "Level of an unlabelled namespace: Kubernetes' default unless the cluster's "
            "PodSecurity AdmissionConfiguration sets another.",
        },
    },
    remediation="Harden the pod (components/podsecurity.py: drop ALL capabilities, no privilege escalation, "
    "RuntimeDefault seccomp, non-root) or, if it truly needs more, give its namespace the level it needs in "
    "components/namespaces.py with the reason.",
)
def pod_security_admission(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    levels = namespace_levels(resources, ctx.config.get("namespaceLevels", {}))
    yield from admission_violations(bearers(resources), levels, str(ctx.config.get("defaultLevel", "privileged")))


def _without_exempted(pod: PodView, granted: frozenset[str]) -> dict[str, Any]:
    """A copy of the pod spec with granted capabilities taken out, and the containers that add them counted as
    non-root (they must run as root to hold the capabilities: kubernetes/kubernetes#56374). A container the
    `efa_nixl_worker` exemption allows to run privileged is judged as if it held only what `restricted` allows
    besides: every other field of it is still checked."""
    spec = copy.deepcopy(dict(pod.spec))
    privileged_ok = {c.name for c in pod.containers if efa_nixl_worker(pod, c)}
    for c in spec.get("containers") or []:
        sc = c.get("securityContext") if isinstance(c, dict) else None
        if isinstance(sc, dict) and c.get("name") in privileged_ok and sc.get("privileged") is True:
            c["securityContext"] = {
                **{k: v for k, v in sc.items() if k not in ("privileged", "runAsUser", "runAsNonRoot")},
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "runAsNonRoot": True,
            }
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            sc = c.get("securityContext") if isinstance(c, dict) else None
            caps = sc.get("capabilities") if isinstance(sc, dict) else None
            added = caps.get("add") if isinstance(caps, dict) else None
            if not added or not (set(map(str, added)) & granted) or not isinstance(caps, dict):
                continue
            assert isinstance(sc, dict)
            caps["add"] = [a for a in added if str(a) not in granted]
            if set(map(str, added)) <= granted:
                sc["runAsNonRoot"], sc["runAsUser"] = True, 1  # exempt: root is what makes the capability work
    return spec


@stack_rule(
    "pod-hardening",
    "Every pod template the stack renders outside the operator namespaces passes the `restricted` Pod Security "
    "Standard, except capabilities a scoped exemption grants (policies/exemptions.py: IPC_LOCK for pods with RDMA "
    "devices), which those containers may add and run as root to hold.",
    level="mandatory",
    severity="high",
    config={
        "operatorNamespaces": {
            "type": "array",
            "items": {"type": "string"},
            "default": list(PRIVILEGED_NAMESPACES),
            "description": "Namespaces of operators that manage drivers and devices (judged by pod-security-admission "
            "only).",
        }
    },
    remediation="Apply components/podsecurity.py `secure_pod` to the pod template (one call in its builder).",
)
def pod_hardening(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    skip = set(ctx.config.get("operatorNamespaces", []))
    for obj in bearers(resources):
        for pod, meta in obj.pods():
            if pod.namespace in skip:
                continue
            granted = granted_capabilities(pod)
            for v in pss.check_pod(_without_exempted(pod, granted), "restricted", meta):
                yield obj.urn, f"{obj.prefix}{pod.path} is not hardened: {v}"


def _chart_namespaces(resources: Sequence[Resource]) -> set[str]:
    """Namespaces where a Helm chart installs pods the policy inputs do not show: a chart resource none of whose
    children is among `resources` (offline, a chart not rendered; CrossGuard and `check` see rendered children,
    whose URNs extend the chart's type chain: stacks/charts/loaded.py child_urn)."""
    heads = {r.urn.rpartition("::")[0] + "$" for r in resources if r.type not in CHART_TYPES}
    out: set[str] = set()
    for r in resources:
        if r.type in CHART_TYPES:
            head = r.urn.rpartition("::")[0] + "$"
            if not any(h.startswith(head) for h in heads):
                out.add(str(r.props.get("namespace") or "default"))
    return out


def least_privilege_namespaces(resources: Sequence[Resource]) -> Iterator[tuple[str | None, str]]:
    needed: dict[str, str] = {}
    for obj in bearers(resources):
        for pod, meta in obj.pods():
            level = pss.minimal_level(pod.spec, meta)
            prev = needed.get(pod.namespace, "restricted")
            needed[pod.namespace] = level if pss.stricter(prev, level) else prev
    charts = _chart_namespaces(resources)
    for r in resources:
        if kind_of(r.type, r.props) != "Namespace":
            continue
        ns = name_of(r.props)
        if ns in charts:
            continue  # chart pods are not visible: the level stays as components/namespaces.py documents it
        enforced = str(mapping(mapping(r.props, "metadata"), "labels").get(pss.ENFORCE_LABEL) or "privileged")
        need = needed.get(ns, "restricted")
        if pss.stricter(need, enforced):
            yield (
                r.urn,
                (
                    f"namespace {ns!r} enforces PSS {enforced} but every pod the stack puts there passes {need}; "
                    f"enforce {need}"
                ),
            )


@stack_rule(
    "pod-security-least-privilege",
    "No namespace whose pods the plan shows enforces a looser Pod Security Standards level than its strictest-"
    "passing pod set needs (namespaces with Helm-installed pods are judged once charts render offline).",
    level="mandatory",
    severity="medium",
    remediation="Raise the namespace's level in components/namespaces.py (namespace_pss_level).",
)
def pod_security_least_privilege(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    yield from least_privilege_namespaces(resources)


__all__ = [
    "PodBearer",
    "admission_violations",
    "bearers",
    "namespace_levels",
    "namespace_of",
]
