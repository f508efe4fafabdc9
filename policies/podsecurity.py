"""Pod Security rules: every pod template passes the Pod Security Standards level its namespace enforces, our own
pods are hardened to `restricted` (save scoped exemptions), and no namespace enforces a looser level than its pods
need.

The rules take *pod bearers*: objects with pod templates (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod,
ReplicaSet, PodTemplate, LeaderWorkerSet, and every component of a DynamoGraphDeployment: policies/workloads.py) and
the level of each namespace, from the stack's resources and the rendered chart objects (`check`, report.md and
CrossGuard pass them as the chart's children; `PodBearer.from_manifest` for a bare manifest). Chart containers whose
chart offers no value for a control are upstream gaps (components/catalog/upstream_defects.py POLICY_GAPS), reported
by the advisory pod-hardening-upstream-gap; pods operators create at run time count for least privilege through
components/catalog/pod_levels.py. Charts not rendered (synth --allow-unrendered-charts) leave their namespaces
unjudged by least privilege (`_chart_namespaces`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.catalog.pod_levels import runtime_levels
from components.catalog.upstream_defects import POLICY_GAPS
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


_GAP_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "default": {g.container: list(g.controls) for g in POLICY_GAPS if g.rule == "pod-hardening"},
    "description": "`<namespace>/<Kind>/<name>/<container>` of chart containers -> the PSS controls their chart "
    "offers no value to satisfy (components/catalog/upstream_defects.py POLICY_GAPS, each with its reason); "
    "reported by the advisory rule pod-hardening-upstream-gap instead.",
}


def _container_of(obj: PodBearer, pod: PodView, v: pss.Violation) -> str:
    """`<namespace>/<Kind>/<name>/<container>` of the container a violation's path points at ("" for the pod)."""
    head = v.path.split(".", 1)[0]
    key, _, idx = head.partition("[")
    if not idx or key not in ("initContainers", "containers", "ephemeralContainers"):
        return ""
    items = pod.spec.get(key) or []
    i = int(idx.rstrip("]"))
    name = items[i].get("name", "") if i < len(items) and isinstance(items[i], Mapping) else ""
    return f"{pod.namespace}/{kind_of(obj.type, obj.props)}/{name_of(obj.props)}/{name}"


def _hardening(
    resources: Sequence[Resource], skip: set[str], gaps: Mapping[str, Sequence[str]]
) -> Iterator[tuple[PodBearer, PodView, pss.Violation, str]]:
    """(object, pod, violation, container key if an upstream gap covers it else "") of every pod outside `skip`."""
    for obj in bearers(resources):
        for pod, meta in obj.pods():
            if pod.namespace in skip:
                continue
            granted = granted_capabilities(pod)
            for v in pss.check_pod(_without_exempted(pod, granted), "restricted", meta):
                key = _container_of(obj, pod, v)
                yield obj, pod, v, key if v.control in gaps.get(key, ()) else ""


@stack_rule(
    "pod-hardening",
    "Every pod template the stack renders outside the operator namespaces (its own and its charts') passes the "
    "`restricted` Pod Security Standard, except capabilities a scoped exemption grants (policies/exemptions.py: "
    "IPC_LOCK for pods with RDMA devices), which those containers may add and run as root to hold, and controls a "
    "chart offers no value for (upstream gaps, reported by pod-hardening-upstream-gap).",
    level="mandatory",
    severity="high",
    config={
        "operatorNamespaces": {
            "type": "array",
            "items": {"type": "string"},
            "default": list(PRIVILEGED_NAMESPACES),
            "description": "Namespaces of operators that manage drivers and devices (judged by pod-security-admission "
            "only).",
        },
        "upstreamGaps": _GAP_SCHEMA,
    },
    remediation="Apply components/podsecurity.py `secure_pod` to the pod template (one call in its builder); for a "
    "chart pod, set its security context through the chart's values (components/catalog/chart_security.py).",
)
def pod_hardening(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    skip = set(ctx.config.get("operatorNamespaces", []))
    for obj, pod, v, gap in _hardening(resources, skip, ctx.config.get("upstreamGaps", {})):
        if not gap:
            yield obj.urn, f"{obj.prefix}{pod.path} is not hardened: {v}"


@stack_rule(
    "pod-hardening-upstream-gap",
    "Chart pods that miss `restricted` only where their chart reads no value to fix it (components/catalog/"
    "upstream_defects.py POLICY_GAPS): listed with the reason, so an upstream gap is visible, never silent.",
    level="advisory",
    severity="low",
    config={"upstreamGaps": _GAP_SCHEMA},
    remediation="Upgrade the chart once it exposes the field, then drop the gap entry.",
)
def pod_hardening_upstream_gap(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    gaps = ctx.config.get("upstreamGaps", {})
    reasons = {g.container: g.reason for g in POLICY_GAPS if g.rule == "pod-hardening"}
    for obj, pod, v, gap in _hardening(resources, set(), gaps):
        if gap:
            yield obj.urn, f"{obj.prefix}{pod.path}: upstream gap: {v} [{reasons.get(gap, 'configured upstreamGaps')}]"


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


def chart_name(inputs: Mapping[str, Any]) -> str:
    """The chart's name from a chart resource's `chart` input: a repo name, an oci:// reference or a local path
    (`<dir>/<name>` or `<dir>/<name>-<version>.tgz`: components/charts.py locate)."""
    last = str(inputs.get("chart") or "").rstrip("/").rsplit("/", 1)[-1]
    version = str(inputs.get("version") or "")
    if version and last.endswith(f"-{version}.tgz"):
        return last[: -len(f"-{version}.tgz")]
    return last


def least_privilege_namespaces(
    resources: Sequence[Resource], runtime: Mapping[str, str] | None = None
) -> Iterator[tuple[str | None, str]]:
    """`runtime`: {namespace: level} of the pods operators create at run time, derived from the spec
    (policies/runner.py derived_config): under `pulumi preview` the pack sees no chart component's inputs, so the
    chart resources alone would miss them (found by `make e2e`)."""
    needed: dict[str, str] = dict(runtime or {})
    for obj in bearers(resources):
        for pod, meta in obj.pods():
            level = pss.minimal_level(pod.spec, meta)
            prev = needed.get(pod.namespace, "restricted")
            needed[pod.namespace] = level if pss.stricter(prev, level) else prev
    for r in resources:  # pods operators create at run time (components/catalog/pod_levels.py)
        if r.type in CHART_TYPES:
            for ns, level in runtime_levels(chart_name(r.props), str(r.props.get("namespace") or "default")).items():
                prev = needed.get(ns, "restricted")
                needed[ns] = level if pss.stricter(prev, level) else prev
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
    config={
        "runtimeLevels": {
            "type": "object",
            "additionalProperties": {"type": "string", "enum": ["privileged", "baseline", "restricted"]},
            "description": "{namespace: Pod Security level} the pods operators create at run time need "
            "(components/catalog/pod_levels.py); the stack's charts fill it.",
        }
    },
    remediation="Raise the namespace's level in components/namespaces.py (namespace_pss_level).",
)
def pod_security_least_privilege(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    yield from least_privilege_namespaces(resources, ctx.config.get("runtimeLevels") or {})


__all__ = [
    "PodBearer",
    "admission_violations",
    "bearers",
    "namespace_levels",
    "namespace_of",
]
