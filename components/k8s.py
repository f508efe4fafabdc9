"""Kubernetes objects: builders return plain manifests (dicts, exactly as applied); this module registers them.

Builders stay pure and testable without an engine; `apply` turns a manifest into the matching typed
pulumi-kubernetes resource (or a CustomResource for CRDs), so the plan shows real type tokens such as
`kubernetes:apps/v1:Deployment` and `kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment`.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as _k8s_utilities

Manifest = dict[str, Any]

# API group -> pulumi_kubernetes module, for built-in kinds (everything else is a CustomResource).
_BUILTIN_GROUPS: dict[str, str] = {
    "": "core",
    "apps": "apps",
    "batch": "batch",
    "policy": "policy",
    "autoscaling": "autoscaling",
    "rbac.authorization.k8s.io": "rbac",
    "networking.k8s.io": "networking",
    "storage.k8s.io": "storage",
    "scheduling.k8s.io": "scheduling",
    "resource.k8s.io": "resource",
    "apiextensions.k8s.io": "apiextensions",
    "admissionregistration.k8s.io": "admissionregistration",
    "coordination.k8s.io": "coordination",
}
_TOP_LEVEL_SKIP = {"apiVersion", "kind", "status"}


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def is_builtin(api_version: str) -> bool:
    return split_api_version(api_version)[0] in _BUILTIN_GROUPS


@functools.cache
def _builtin_class(api_version: str, kind: str, patch: bool) -> type[pulumi.CustomResource]:
    group, version = split_api_version(api_version)
    module = importlib.import_module(f"pulumi_kubernetes.{_BUILTIN_GROUPS[group]}.{version}")
    return getattr(module, kind + ("Patch" if patch else ""))  # type: ignore[no-any-return]


@functools.cache
def builtin_type_token(api_version: str, kind: str, patch: bool = False) -> str:
    """The Pulumi type token of a built-in kind, e.g. `kubernetes:apps/v1:Deployment`, `kubernetes:core/v1:NodePatch`.

    Raises AttributeError for a kind pulumi-kubernetes does not know (as constructing its class would).
    """
    _builtin_class(api_version, kind, patch)
    group, version = split_api_version(api_version)
    return f"kubernetes:{group or 'core'}/{version}:{kind}{'Patch' if patch else ''}"


# Inputs the typed pulumi-kubernetes class of a kind marks secret (and reports as additional secret outputs).
_SECRET_INPUTS: dict[str, tuple[str, ...]] = {"kubernetes:core/v1:Secret": ("data", "stringData")}


def resource_name(obj: Mapping[str, Any]) -> str:
    """Pulumi resource name of an object: `<namespace>/<name>` (namespaced) or `<name>`; URNs rely on it."""
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else str(meta["name"])


def apply(obj: Manifest, opts: pulumi.ResourceOptions | None = None, *, patch: bool = False) -> pulumi.CustomResource:
    """Register one manifest as a Kubernetes resource. The manifest must carry an explicit metadata.name.

    Built-in kinds register under the type token of their typed pulumi-kubernetes class with the manifest as
    inputs, and with what that class adds that the engine sees: the package's version options and, for a Secret,
    secret data. The typed constructors' per-property type introspection was a fifth of synth at fleet size and
    changes nothing in the registration (docs/performance.md). Their only other addition, aliases to the kind's
    pre-GA type tokens (e.g. `extensions/v1beta1:Deployment`), matters only to state created under those tokens,
    which this project never wrote.
    """
    api_version, kind = obj["apiVersion"], obj["kind"]
    if not obj.get("metadata", {}).get("name"):
        raise ValueError(f"{kind} without metadata.name: every object is named explicitly")
    name = resource_name(obj)
    if is_builtin(api_version):
        token = builtin_type_token(api_version, kind, patch)
        props: dict[str, Any] = {k: v for k, v in obj.items() if k != "status"}
        opts = pulumi.ResourceOptions.merge(_k8s_utilities.get_resource_opts_defaults(), opts)
        secret = _SECRET_INPUTS.get(token)
        if secret:
            for key in secret:
                if props.get(key) is not None:
                    props[key] = pulumi.Output.secret(props[key])
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(secret)))
        return pulumi.CustomResource(token, name, props, opts)
    fields = {k: v for k, v in obj.items() if k not in _TOP_LEVEL_SKIP | {"metadata"}}
    return k8s.apiextensions.CustomResource(
        name, api_version=api_version, kind=kind, metadata=obj["metadata"], opts=opts, **fields
    )


# Air-gapped charts for `make e2e` (tests/e2e): `inference-ra-e2e:chartSource` names a directory holding one unpacked
# chart per directory, named as the chart (the last path element of its reference), e.g. ../shared/upstream/charts.
# Interim: the spec's `charts.source` replaces this key once it lands; outside e2e it is never set.
CHART_SOURCE_CONFIG = ("inference-ra-e2e", "chartSource")


def local_chart_dir(chart_ref: Any) -> str | None:
    """The local chart directory for `chart_ref` when the stack sets `inference-ra-e2e:chartSource`, else None."""
    source = pulumi.Config(CHART_SOURCE_CONFIG[0]).get(CHART_SOURCE_CONFIG[1])
    if not source:
        return None
    return f"{source.rstrip('/')}/{chart_ref.chart.rstrip('/').rsplit('/', 1)[-1]}"


def chart(
    name: str,
    *,
    chart_ref: Any,
    namespace: str,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions | None = None,
    skip_crds: bool = False,
) -> k8s.helm.v4.Chart:
    """A pinned Helm chart (`helm.v4.Chart`); values are validated against the chart's upstream values.yaml."""
    chart_name, version = chart_ref.chart, chart_ref.version
    repo = k8s.helm.v4.RepositoryOptsArgs(repo=chart_ref.repo) if chart_ref.repo else None
    local = local_chart_dir(chart_ref)
    if local:
        chart_name, version, repo = local, None, None
    return k8s.helm.v4.Chart(
        name,
        chart=chart_name,
        version=version,
        repository_opts=repo,
        namespace=namespace,
        values=dict(values),
        skip_crds=skip_crds,
        opts=opts,
    )


def metadata(
    name: str,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = {"app.kubernetes.io/managed-by": "inference-ra", **(labels or {})}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta
