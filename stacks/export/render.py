"""The GitOps objects of an ExportModel: Argo CD Applications (app of apps, sync waves) or Flux Kustomizations and
HelmReleases (dependsOn). Pure: model + settings in, {relative path: object} out. docs/gitops.md names the reader
of every field (Argo CD / Flux CRDs in ../shared/upstream/crds/{argocd,flux}; controller docs cited there).
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stacks.export.units import ChartUnit, ExportModel, ObjectUnit

FORMATS = ("argocd", "flux")
IN_CLUSTER = "https://kubernetes.default.svc"
GIT_SOURCE = "inference-ra"  # the Flux GitRepository every Kustomization reads
HELM_OCI_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
MANAGED = {"app.kubernetes.io/managed-by": "inference-ra"}
# what keeps a GitOps controller from deleting a stateful object (the plan's protect / retainOnDelete)
ARGO_KEEP = ("argocd.argoproj.io/sync-options", "Prune=false,Delete=false")
FLUX_KEEP = ("kustomize.toolkit.fluxcd.io/prune", "disabled")


@dataclass(frozen=True)
class GitSettings:
    repo_url: str  # the Git repository the export directory is committed to
    revision: str  # Argo CD targetRevision / Flux GitRepository ref.branch
    repo_path: str  # where the export directory sits inside that repository ("" = its root)
    namespace: str  # the controller's namespace (argocd / flux-system)
    interval: str = "10m"


def _meta(name: str, namespace: str, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(MANAGED)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _repo_path(git: GitSettings, *parts: str) -> str:
    return posixpath.normpath(posixpath.join(git.repo_path or ".", *parts))


def _unit_objects(model: ExportModel, unit: ObjectUnit, keep: tuple[str, str]) -> dict[str, Mapping[str, Any]]:
    files: dict[str, Mapping[str, Any]] = {}
    name = model.name_of(unit)
    for rel, obj in unit.objects:
        if rel in model.protected:
            kept: dict[str, Any] = copy.deepcopy(dict(obj))
            meta = kept.setdefault("metadata", {})
            meta["annotations"] = {**(meta.get("annotations") or {}), keep[0]: keep[1]}
            obj = kept
        files[f"units/{name}/{rel}"] = obj
    return files


# --------------------------------------------------------------------------------------------------- Argo CD
def _argo_app(name: str, git: GitSettings, wave: int, source: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    destination: dict[str, Any] = {"server": IN_CLUSTER}
    if namespace:
        destination["namespace"] = namespace
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": _meta(name, git.namespace, {"argocd.argoproj.io/sync-wave": str(wave)}),
        "spec": {
            "project": "default",
            "source": source,
            "destination": destination,
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["ServerSideApply=true"],
                "retry": {"limit": 10, "backoff": {"duration": "30s", "factor": 2, "maxDuration": "10m"}},
            },
        },
    }


def _argo_chart_source(unit: ChartUnit) -> dict[str, Any]:
    helm: dict[str, Any] = {"releaseName": unit.release, "valuesObject": copy.deepcopy(dict(unit.values))}
    if unit.skip_crds:
        helm["skipCrds"] = True
    if unit.source.kind == "oci":  # Argo CD >= 3.1 native OCI source; a Helm chart artifact takes path "."
        return {"repoURL": unit.source.url, "path": ".", "targetRevision": unit.source.version, "helm": helm}
    return {"repoURL": unit.source.url, "chart": unit.source.chart, "targetRevision": unit.source.version, "helm": helm}


def argocd(model: ExportModel, git: GitSettings) -> dict[str, Mapping[str, Any]]:
    files: dict[str, Mapping[str, Any]] = {}
    root_source = {"repoURL": git.repo_url, "targetRevision": git.revision, "path": _repo_path(git, "apps")}
    root = _argo_app(model.stack, git, 0, root_source, None)
    del root["metadata"]["annotations"]
    files[f"root/Application-{model.stack}.yaml"] = root
    for chart in model.charts:
        name = model.name_of(chart)
        files[f"apps/Application-{name}.yaml"] = _argo_app(
            name, git, chart.wave, _argo_chart_source(chart), chart.namespace
        )
    for group in model.groups:
        name = model.name_of(group)
        source = {
            "repoURL": git.repo_url,
            "targetRevision": git.revision,
            "path": _repo_path(git, "units", name),
            "directory": {"recurse": True},
        }
        files[f"apps/Application-{name}.yaml"] = _argo_app(name, git, group.wave, source, None)
        files.update(_unit_objects(model, group, ARGO_KEEP))
    return files


# ------------------------------------------------------------------------------------------------------ Flux
def _flux_kustomization(name: str, git: GitSettings, path: str, depends_on: tuple[str, ...]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": git.interval,
        "path": f"./{path}" if not path.startswith(".") else path,
        "prune": True,
        "wait": True,  # Ready only once every object it applied is ready: what its dependants wait for
        "timeout": "30m",
        "sourceRef": {"kind": "GitRepository", "name": GIT_SOURCE},
    }
    if depends_on:
        spec["dependsOn"] = [{"name": d} for d in depends_on]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": _meta(name, git.namespace),
        "spec": spec,
    }


def _flux_chart(model: ExportModel, unit: ChartUnit, git: GitSettings) -> dict[str, Mapping[str, Any]]:
    name = model.name_of(unit)
    spec: dict[str, Any] = {
        "interval": git.interval,
        "releaseName": unit.release,
        "targetNamespace": unit.namespace,
        "storageNamespace": unit.namespace,
        "values": copy.deepcopy(dict(unit.values)),
        "install": {
            "crds": "Skip" if unit.skip_crds else "Create",
            "disableHooks": not unit.hooks_run,
        },
        "upgrade": {
            "crds": "Skip" if unit.skip_crds else "CreateReplace",
            "disableHooks": not unit.hooks_run,
        },
    }
    files: dict[str, Mapping[str, Any]] = {}
    meta = _meta(unit.release, git.namespace)
    if unit.source.kind == "oci":
        source = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "OCIRepository",
            "metadata": meta,
            "spec": {
                "interval": "1h",
                "url": unit.source.url,
                "ref": {"tag": unit.source.version},
                "layerSelector": {"mediaType": HELM_OCI_LAYER, "operation": "copy"},
            },
        }
        spec["chartRef"] = {"kind": "OCIRepository", "name": unit.release}
    else:
        source = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": meta,
            "spec": {"interval": "1h", "url": unit.source.url},
        }
        spec["chart"] = {
            "spec": {
                "chart": unit.source.chart,
                "version": unit.source.version,
                "sourceRef": {"kind": "HelmRepository", "name": unit.release},
            }
        }
    files[f"units/{name}/{source['kind']}-{unit.release}.yaml"] = source
    files[f"units/{name}/HelmRelease-{unit.release}.yaml"] = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": _meta(unit.release, git.namespace),
        "spec": spec,
    }
    return files


def flux(model: ExportModel, git: GitSettings) -> dict[str, Mapping[str, Any]]:
    files: dict[str, Mapping[str, Any]] = {}
    files[f"root/GitRepository-{GIT_SOURCE}.yaml"] = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": _meta(GIT_SOURCE, git.namespace),
        "spec": {"interval": git.interval, "url": git.repo_url, "ref": {"branch": git.revision}},
    }
    root = _flux_kustomization(model.stack, git, _repo_path(git, "kustomizations"), ())
    root["spec"]["wait"] = False  # it applies the unit Kustomizations; their own dependsOn orders them
    files[f"root/Kustomization-{model.stack}.yaml"] = root
    for chart in model.charts:
        name = model.name_of(chart)
        files[f"kustomizations/Kustomization-{name}.yaml"] = _flux_kustomization(
            name, git, _repo_path(git, "units", name), chart.depends_on
        )
        files.update(_flux_chart(model, chart, git))
    for group in model.groups:
        name = model.name_of(group)
        files[f"kustomizations/Kustomization-{name}.yaml"] = _flux_kustomization(
            name, git, _repo_path(git, "units", name), group.depends_on
        )
        files.update(_unit_objects(model, group, FLUX_KEEP))
    return files


def render(model: ExportModel, fmt: str, git: GitSettings) -> dict[str, Mapping[str, Any]]:
    return {"argocd": argocd, "flux": flux}[fmt](model, git)


def gitops_objects(files: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """The controller objects among the files (what strict CRD validation checks); the rest are plan objects."""
    return sorted(
        (rel, obj)
        for rel, obj in files.items()
        if str(obj.get("apiVersion", "")).split("/")[0].endswith(("argoproj.io", "fluxcd.io"))
    )
