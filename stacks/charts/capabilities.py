"""What the target cluster serves, as Helm's `.Capabilities` sees it: the Kubernetes version and the API versions.

- Kubernetes version: the spec's `cluster.kubernetesVersion` as `v<major>.<minor>.0`.
- Built-in API versions: every group/version (and group/version/Kind) of that release's OpenAPI, from
  kubernetes-validate's schemas (the same source `validate` uses), alpha versions left out (off unless a cluster
  enables them). Beta versions are kept: whether one is served depends on the cluster (`--runtime-config`); the
  stack already assumes DRA's beta API is (components/catalog/compat.py).
- Custom API versions: every CRD the stack installs (the charts' crds/, CRDs a chart template renders, CRDs the
  plan applies). This is the steady-state cluster; on a first `pulumi up`, helm.v4.Chart discovers APIs before the
  stack's CRDs exist, so a template gated on one of them renders from the second `up` on (docs/charts.md).
Helm's VersionSet holds both forms (`apps/v1` and `apps/v1/Deployment`), as action.GetVersionSet builds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import kubernetes_validate.utils as kvu


def kube_version(version: str) -> str:
    """`1.33` -> `v1.33.0` (a full version is kept)."""
    parts = version.lstrip("v").split(".")
    while len(parts) < 3:
        parts.append("0")
    return "v" + ".".join(parts[:3])


@lru_cache(maxsize=8)
def builtin_api_versions(version: str) -> frozenset[str]:
    wanted = kvu.major_minor(version.lstrip("v"))
    known = [v for v in kvu.all_versions() if kvu.major_minor(v) <= wanted]
    if not known:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {version}")
    schema_version = known[-1]
    defs = kvu.schema_contents(
        f"kubernetes-json-schema/v{schema_version}-local-strict/_definitions.json", schema_version
    )
    out: set[str] = set()
    for definition in (defs.get("$defs") or {}).values():
        gvks = definition.get("x-kubernetes-group-version-kind") or []
        if len(gvks) != 1:  # DeleteOptions / WatchEvent list every group version; they are not API kinds
            continue
        group, ver, kind = gvks[0]["group"], gvks[0]["version"], gvks[0]["kind"]
        if "alpha" in ver or kind.endswith("List"):
            continue
        gv = f"{group}/{ver}" if group else ver
        out.add(gv)
        out.add(f"{gv}/{kind}")
    return frozenset(out)


def crd_api_versions(crds: Iterable[Mapping[str, Any]]) -> set[str]:
    """group/version and group/version/Kind of every served version of the given CRD objects."""
    out: set[str] = set()
    for crd in crds:
        spec = crd.get("spec") if isinstance(crd, Mapping) else None
        if not isinstance(spec, Mapping):
            continue
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        for ver in spec.get("versions") or []:
            if isinstance(ver, Mapping) and ver.get("served", True) and group and kind:
                out.add(f"{group}/{ver['name']}")
                out.add(f"{group}/{ver['name']}/{kind}")
    return out


def crd_scopes(crds: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for the given CRD objects."""
    out: dict[tuple[str, str], bool] = {}
    for crd in crds:
        spec = crd.get("spec") if isinstance(crd, Mapping) else None
        if isinstance(spec, Mapping) and spec.get("group") and (spec.get("names") or {}).get("kind"):
            out[(str(spec["group"]), str(spec["names"]["kind"]))] = spec.get("scope", "Namespaced") == "Namespaced"
    return out


# Built-in kinds without a namespace (Kubernetes API reference; `kubectl api-resources --namespaced=false`).
CLUSTER_SCOPED_BUILTINS: frozenset[str] = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "PriorityClass",
        "RuntimeClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "APIService",
        "CertificateSigningRequest",
        "IngressClass",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "DeviceClass",
        "ResourceSlice",
        "DeviceTaintRule",
        "VolumeAttributesClass",
        "ComponentStatus",
        "IPAddress",
        "ServiceCIDR",
        "SelfSubjectReview",
        "TokenReview",
        "SubjectAccessReview",
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
        "ClusterTrustBundle",
        "StorageVersion",
        "StorageVersionMigration",
    }
)
