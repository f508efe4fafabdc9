"""Plan-to-plan diff for PR review: resources added / removed / changed by URN, field-level changes, and the
destructive ones (replacement or deletion of stateful or capacity-bearing resources) with the fields that force it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import yaml
from kubernetes.utils.quantity import parse_quantity

from stacks.replacements import STATEFUL_TYPES
from stacks.report import layer_of


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity ("100Gi", "500m", "1e3") or a number, in base units; None for anything else. Parsed by
    the Kubernetes client's `parse_quantity`, which follows apimachinery's resource.Quantity grammar."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(parse_quantity(str(value)))
    except (ValueError, ArithmeticError):
        return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested inputs -> {"a.b[0].c": leaf}; empty containers are kept as leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _get(inputs: dict[str, Any], path: str) -> Any:
    cur: Any = inputs
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Destructive:
    urn: str
    type: str
    kind: str
    action: str  # "delete" | "replace"
    reason: str
    fields: tuple[str, ...]
    source: str
    protected: bool


@dataclass
class ResourceChange:
    urn: str
    type: str
    layer: str
    action: str  # "add" | "remove" | "change"
    fields: list[FieldChange] = field(default_factory=list)
    yaml_diff: str = ""  # Kubernetes objects: a readable unified diff of the manifest


@dataclass
class StackDiff:
    stack: str
    changes: list[ResourceChange] = field(default_factory=list)
    destructive: list[Destructive] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for c in self.changes:
            out.setdefault(c.layer, {"add": 0, "remove": 0, "change": 0})[c.action] += 1
        return dict(sorted(out.items()))


def _is_k8s_object(r: dict[str, Any]) -> bool:
    return r["type"].startswith("kubernetes:") and "kind" in (r.get("inputs") or {})


def _yaml_diff(urn: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    a = yaml.safe_dump(old, sort_keys=True).splitlines(True) if old else []
    b = yaml.safe_dump(new, sort_keys=True).splitlines(True) if new else []
    name = urn.rsplit("::", 1)[-1]
    return "".join(difflib.unified_diff(a, b, f"base/{name}", f"head/{name}", n=2))


NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def stateful_kind(type_: str, inputs: dict[str, Any]) -> str:
    """What a reviewer reads for a stateful resource; a node group is GPU capacity only when it carries GPUs
    (the GPU taint or this stack's GPU label), the system node group is CPU capacity."""
    kind = STATEFUL_TYPES[type_].kind
    if type_ != NODE_GROUP:
        return kind
    labels = inputs.get("labels")
    taints = inputs.get("taints")
    labels = labels if isinstance(labels, dict) else {}
    taints = taints if isinstance(taints, list) else []
    gpu = "inference-ra.nvidia.com/gpu" in labels or any(
        isinstance(t, dict) and t.get("key") == "nvidia.com/gpu" for t in taints
    )
    return kind if gpu else "node group (CPU capacity)"


def _destructive_change(r_old: dict[str, Any], r_new: dict[str, Any]) -> Destructive | None:
    st = STATEFUL_TYPES.get(r_new["type"])
    if st is None:
        return None
    kind = stateful_kind(r_new["type"], r_new.get("inputs") or {})
    old_in, new_in = r_old.get("inputs") or {}, r_new.get("inputs") or {}
    forced = tuple(p for p in st.replace_on if _get(old_in, p) != _get(new_in, p))
    shrunk = []
    for p in st.shrink_forbidden:
        before, after = quantity(_get(old_in, p)), quantity(_get(new_in, p))
        if before is not None and after is not None and after < before:
            shrunk.append(p)
    if not forced and not shrunk:
        return None
    parts = []
    if forced:
        parts.append(f"changing {', '.join(forced)} replaces the {kind}")
    if shrunk:
        parts.append(f"{', '.join(shrunk)} decreased: a {kind} cannot shrink in place")
    return Destructive(
        r_new["urn"],
        r_new["type"],
        kind,
        "replace",
        "; ".join(parts),
        forced + tuple(shrunk),
        st.source,
        bool(r_old.get("protect")),
    )


def diff_plans(base: dict[str, Any], head: dict[str, Any]) -> StackDiff:
    old = {r["urn"]: r for r in base.get("resources", [])}
    new = {r["urn"]: r for r in head.get("resources", [])}
    result = StackDiff(stack=str(head.get("stack") or base.get("stack") or ""))
    for urn in sorted(old.keys() | new.keys()):
        a, b = old.get(urn), new.get(urn)
        ref = b or a
        assert ref is not None
        layer = layer_of(urn)
        if a is None:
            assert b is not None
            result.changes.append(
                ResourceChange(
                    urn,
                    b["type"],
                    layer,
                    "add",
                    yaml_diff=_yaml_diff(urn, None, b["inputs"]) if _is_k8s_object(b) else "",
                )
            )
            continue
        if b is None:
            result.changes.append(
                ResourceChange(
                    urn,
                    a["type"],
                    layer,
                    "remove",
                    yaml_diff=_yaml_diff(urn, a["inputs"], None) if _is_k8s_object(a) else "",
                )
            )
            st = STATEFUL_TYPES.get(a["type"])
            if st is not None:
                kind = stateful_kind(a["type"], a.get("inputs") or {})
                result.destructive.append(
                    Destructive(
                        urn,
                        a["type"],
                        kind,
                        "delete",
                        f"the {kind} is deleted with everything on it",
                        (),
                        st.source,
                        bool(a.get("protect")),
                    )
                )
            continue
        fa, fb = flatten(a.get("inputs") or {}), flatten(b.get("inputs") or {})
        changed = [
            FieldChange(p, fa.get(p), fb.get(p)) for p in sorted(fa.keys() | fb.keys()) if fa.get(p) != fb.get(p)
        ]
        for flag in ("protect", "retainOnDelete", "provider", "parent"):
            if a.get(flag) != b.get(flag):
                changed.append(FieldChange(f"({flag})", a.get(flag), b.get(flag)))
        if not changed:
            continue
        result.changes.append(
            ResourceChange(
                urn,
                b["type"],
                layer,
                "change",
                changed,
                _yaml_diff(urn, a["inputs"], b["inputs"]) if _is_k8s_object(b) else "",
            )
        )
        d = _destructive_change(a, b)
        if d is not None:
            result.destructive.append(d)
    return result
