"""Assertions on the API server's state: what the plan says, what the API server holds, what is left after destroy.

Each check returns a list of problems (strings); an empty list means the check ran and passed. A check that cannot
run raises, and the step fails with that error (fail closed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Kinds whose objects the control plane makes and deletes by itself; never compared between snapshots.
_VOLATILE = {
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("coordination.k8s.io", "Lease"),
    ("", "Endpoints"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("", "Pod"),  # pods follow their controllers, which are compared
    ("apps", "ReplicaSet"),
    ("apps", "ControllerRevision"),
    ("batch", "Job"),  # CronJob runs; the stack's own Jobs are compared through the plan
    ("", "PersistentVolume"),  # the emulated provisioner's volumes; the stack's static PVs are checked by name
}


def _plan_objects(plan_dir: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted((plan_dir / "manifests").rglob("*.yaml")):
        if "_charts" in path.parts:
            continue
        doc = yaml.safe_load(path.read_text())
        if doc:
            out.append(doc)
    return out


def _resource(dyn: Any, api_version: str, kind: str) -> Any:
    return dyn.resources.get(api_version=api_version, kind=kind)


def get_object(dyn: Any, api_version: str, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
    from kubernetes.dynamic.exceptions import NotFoundError

    res = _resource(dyn, api_version, kind)
    try:
        obj = res.get(name=name, namespace=namespace) if res.namespaced else res.get(name=name)
    except NotFoundError:
        return None
    return dict(obj.to_dict())


def _quantity(value: Any) -> Any:
    from kubernetes.utils.quantity import parse_quantity

    try:
        return parse_quantity(value)
    except (ValueError, TypeError, ArithmeticError):
        return None


def _same_scalar(expected: Any, actual: Any) -> bool:
    if expected == actual:
        return True
    if isinstance(expected, bool) or isinstance(actual, bool):
        return False
    if str(expected) == str(actual):  # int-or-string fields
        return True
    qe, qa = _quantity(expected), _quantity(actual)
    return qe is not None and qa is not None and qe == qa


def subset_problems(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Fields of `expected` missing from or different in `actual` (server defaults in `actual` are fine)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '.'}: expected a mapping, found {actual!r:.80}"]
        out = []
        for k, v in expected.items():
            if k not in actual:
                if v in ({}, [], None):
                    continue  # an empty value the server (or CRD pruning of an empty object) leaves out
                out.append(f"{path}.{k}: missing (expected {v!r:.80})")
            else:
                out += subset_problems(v, actual[k], f"{path}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, found {actual!r:.120}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += subset_problems(e, a, f"{path}[{i}]")
        return out
    if expected == "[secret]":
        return [] if actual is not None else [f"{path}: missing secret value"]
    return [] if _same_scalar(expected, actual) else [f"{path}: expected {expected!r:.80}, found {actual!r:.80}"]


def plan_problems(dyn: Any, plan_dir: Path) -> tuple[int, list[str]]:
    """Every object of the plan exists in the API server with every field the plan gives it."""
    problems: list[str] = []
    objects = _plan_objects(plan_dir)
    for obj in objects:
        meta = obj["metadata"]
        where = f"{obj['kind']} {meta.get('namespace', '')}/{meta['name']}".replace(" /", " ")
        live = get_object(dyn, obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if live is None:
            problems.append(f"{where}: not found")
            continue
        expected = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}
        if "pulumi.com/patchForce" in (meta.get("annotations") or {}):
            expected["metadata"] = {k: v for k, v in meta.items() if k != "annotations"}
        if obj["kind"] == "Secret":  # values are secrets in the plan ("[secret]"); compare the keys only
            for key in ("data", "stringData"):
                if key in expected:
                    expected.pop(key)
        problems += [f"{where}: {p}" for p in subset_problems(expected, live)]
    return len(objects), problems


def state_problems(dyn: Any, export: dict[str, Any]) -> tuple[int, list[str]]:
    """Every Kubernetes object in Pulumi's state (chart children included) exists in the API server."""
    problems = []
    count = 0
    for r in export["deployment"].get("resources", []):
        t = r.get("type", "")
        if not t.startswith("kubernetes:") or t.startswith("kubernetes:helm.sh") or not r.get("custom"):
            continue
        if t.startswith("pulumi:providers"):
            continue
        out = r.get("outputs") or {}
        meta = out.get("metadata") or {}
        if "apiVersion" not in out or "name" not in meta:
            problems.append(f"{r['urn']}: no apiVersion/metadata in state outputs")
            continue
        count += 1
        if get_object(dyn, out["apiVersion"], out["kind"], meta["name"], meta.get("namespace")) is None:
            problems.append(f"{r['urn']}: in Pulumi's state but not in the API server")
    return count, problems


def snapshot(dyn: Any) -> set[tuple[str, str, str, str]]:
    """(group, kind, namespace, name) of every listable object, volatile kinds left out."""
    seen: set[tuple[str, str, str, str]] = set()
    for res in dyn.resources.search():
        if not hasattr(res, "verbs") or "list" not in (res.verbs or []) or "/" in res.name:
            continue
        if (res.group, res.kind) in _VOLATILE or not res.preferred:
            continue
        try:
            items = res.get().items
        except Exception:
            continue
        for item in items:
            seen.add((res.group, res.kind, item.metadata.namespace or "", item.metadata.name))
    return seen


def leftover_problems(
    dyn: Any,
    baseline: set[tuple[str, str, str, str]],
    plan_dir: Path,
    operator_objects: set[tuple[str, str, str, str]] = frozenset(),  # type: ignore[assignment]
) -> tuple[list[str], list[str]]:
    """After destroy: no object of the plan remains, and nothing exists that was not there before `pulumi up`,
    except what operators created outside the stack (returned second, with the aggregator's APIServices of their
    CRDs' groups), which stays on a real cluster as well."""
    problems = []
    for obj in _plan_objects(plan_dir):
        meta = obj["metadata"]
        if obj["kind"] == "Node":
            continue  # NodePatches give up their fields on destroy; the node stays
        if get_object(dyn, obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")) is not None:
            problems.append(f"{obj['kind']} {meta.get('namespace', '')}/{meta['name']}: still exists after destroy")
    extra = sorted(snapshot(dyn) - baseline)
    operator_groups = {n.split(".", 1)[1] for g, k, _, n in operator_objects if k == "CustomResourceDefinition"}
    known = []
    for g, k, ns, n in extra:
        what = f"{g or 'core'}/{k} {ns}/{n}"
        local_apiservice = k == "APIService" and n.split(".", 1)[-1] in operator_groups
        if (g, k, ns, n) in operator_objects or local_apiservice:
            known.append(what)
        else:
            problems.append(f"{what}: left behind (not there before pulumi up)")
    return problems, known


def rbac_problems(api_client: Any, checks: list[tuple[str, str, str, str, str, bool]]) -> list[str]:
    """SubjectAccessReviews: (user, verb, group, resource, namespace, allowed?) as the API server decides them."""
    from kubernetes import client

    authz = client.AuthorizationV1Api(api_client)
    problems = []
    for user, verb, group, resource, namespace, allowed in checks:
        review = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=user,
                groups=["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"],
                resource_attributes=client.V1ResourceAttributes(
                    verb=verb, group=group, resource=resource, namespace=namespace
                ),
            )
        )
        got = bool(authz.create_subject_access_review(review).status.allowed)
        if got != allowed:
            problems.append(
                f"{user} {verb} {group or 'core'}/{resource} in {namespace}: "
                f"{'allowed' if got else 'denied'}, expected {'allowed' if allowed else 'denied'}"
            )
    return problems
