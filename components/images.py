"""Container images in Kubernetes objects: where they are, and how an image mirror rewrites them.

Pure functions over plain manifests, used in three places so that what is checked is what is deployed:
- `components/k8s.py` rewrites the stack's own objects before registering them and passes the same function to
  every `helm.v4.Chart` as a Pulumi transform (transforms reach the children of packaged components; the Pulumi
  docs, "Resource option: transforms");
- `stacks/charts` applies it to the objects it renders offline (the offline engine runs no transforms);
- report.md lists the images each chart pulls (`images_of`).

Mirror layout: `<registry>/<path>:<tag>` -> `<mirror>/<registry>/<path>:<tag>`, Docker Hub short names made
explicit (`nats:2.10` -> `<mirror>/docker.io/library/nats:2.10`): the layout `skopeo sync --scoped` writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

DOCKER_HUB = "docker.io"
_POD_CONTAINER_KEYS = ("initContainers", "containers", "ephemeralContainers")
# Custom resources whose operators run images named in the object itself (not in a pod template).
# (group, kind) -> dotted paths of plain image references.
CR_IMAGE_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("monitoring.coreos.com", "Prometheus"): ("spec.image",),
    ("monitoring.coreos.com", "Alertmanager"): ("spec.image",),
    ("monitoring.coreos.com", "ThanosRuler"): ("spec.image",),
    ("monitoring.coreos.com", "PrometheusAgent"): ("spec.image",),
}
# Custom resources whose components are given as {repository, image, version} triplets (GPU Operator
# ClusterPolicy, Network Operator NicClusterPolicy): the operator pulls `<repository>/<image>:<version>`.
TRIPLET_GROUPS: frozenset[str] = frozenset({"nvidia.com", "mellanox.com"})
# Components a ClusterPolicy switch turns off as a group: the GPU Operator deploys the sandbox (VM passthrough /
# vGPU / Kata) operands only with `sandboxWorkloads.enabled` (NVIDIA GPU Operator docs, "GPU Operator with KubeVirt").
TRIPLET_GATES: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("nvidia.com", "ClusterPolicy"): {
        "spec.sandboxWorkloads.enabled": (
            "sandboxDevicePlugin",
            "kataSandboxDevicePlugin",
            "vfioManager",
            "vgpuDeviceManager",
            "vgpuManager",
            "kataManager",
        )
    }
}


def split_image(image: str) -> tuple[str, str, str, str]:
    """(registry, repository, tag, digest), Docker Hub defaults made explicit (`nats` -> docker.io/library/nats)."""
    rest, _, digest = image.partition("@")
    first, sep, remainder = rest.partition("/")
    if sep and _has_registry(first):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    last = path.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    repo = path[: len(path) - len(tag) - 1] if tag else path
    if registry == DOCKER_HUB and "/" not in repo:
        repo = f"library/{repo}"
    return registry, repo, tag, digest


def is_mirrored(reference: str, mirror: str) -> bool:
    return reference == mirror or reference.startswith(mirror.rstrip("/") + "/")


def _has_registry(first: str) -> bool:
    return "." in first or ":" in first or first == "localhost"


def mirror_repository(repository: str, mirror: str) -> str:
    """A repository or registry prefix (`nvcr.io/nvidia`, `quay.io`, `natsio/reloader`) under the mirror."""
    if not repository or is_mirrored(repository, mirror):
        return repository
    first, sep, _ = repository.partition("/")
    if not _has_registry(first):  # a Docker Hub repository
        repository = f"{DOCKER_HUB}/{repository if sep else 'library/' + repository}"
    return f"{mirror.rstrip('/')}/{repository}"


def mirror_image(image: str, mirror: str) -> str:
    """A full image reference under the mirror; tag and digest kept."""
    if not image or is_mirrored(image, mirror):
        return image
    registry, repo, tag, digest = split_image(image)
    out = f"{mirror.rstrip('/')}/{registry}/{repo}"
    if tag:
        out += f":{tag}"
    if digest:
        out += f"@{digest}"
    return out


@dataclass(frozen=True)
class ImageUse:
    path: str  # key path inside the object
    image: str


def _pod_images(value: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, container) of every container of every pod spec nested anywhere in an object."""
    if isinstance(value, Mapping):
        for key in _POD_CONTAINER_KEYS:
            items = value.get(key)
            containers = isinstance(items, list) and items and all(isinstance(c, Mapping) for c in items)
            if containers and any("image" in c for c in items):  # type: ignore[union-attr]
                for i, c in enumerate(items):  # type: ignore[arg-type]
                    yield f"{path}.{key}[{i}]" if path else f"{key}[{i}]", c
        for key, sub in value.items():
            if key in _POD_CONTAINER_KEYS:
                continue
            yield from _pod_images(sub, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _pod_images(sub, f"{path}[{i}]")


def _triplets(value: Any, path: str, enabled: bool = True) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(path, triplet, enabled) of every {repository, image, version} mapping; a component is off when it or
    a mapping above it says `enabled: false`."""
    if isinstance(value, Mapping):
        enabled = enabled and value.get("enabled") is not False
        if all(isinstance(value.get(k), str) and value.get(k) for k in ("repository", "image", "version")):
            yield path, value, enabled
        for key, sub in value.items():
            yield from _triplets(sub, f"{path}.{key}" if path else str(key), enabled)


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    api = str(obj.get("apiVersion") or "")
    return (api.rpartition("/")[0], str(obj.get("kind") or ""))


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def images_of(obj: Mapping[str, Any]) -> list[ImageUse]:
    """Every image an object makes the cluster pull: pod containers, CR image fields and enabled CR triplets."""
    out = [ImageUse(f"{p}.image", str(c["image"])) for p, c in _pod_images(obj, "") if c.get("image")]
    group, kind = _group_kind(obj)
    for field_path in CR_IMAGE_FIELDS.get((group, kind), ()):
        value = _get(obj, field_path)
        if isinstance(value, str) and value:
            out.append(ImageUse(field_path, value))
    if group in TRIPLET_GROUPS:
        gated = {
            component
            for switch, components in TRIPLET_GATES.get((group, kind), {}).items()
            if _get(obj, switch) is not True
            for component in components
        }
        for p, t, enabled in _triplets(obj.get("spec"), "spec"):
            component = p.split(".")[1] if "." in p else ""
            if enabled and component not in gated:
                out.append(ImageUse(p, f"{t['repository']}/{t['image']}:{t['version']}"))
    return out


def _copy(value: Any) -> Any:
    """A copy of the maps and lists; leaves (strings, numbers, Pulumi Outputs) are shared, not copied."""
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def mirror_object(obj: Mapping[str, Any], mirror: str | None) -> dict[str, Any]:
    """A copy of `obj` with every image it names under `mirror` (unchanged when mirror is None)."""
    out: dict[str, Any] = _copy(obj)
    mirror_in_place(out, mirror)
    return out


def mirror_in_place(out: dict[str, Any], mirror: str | None) -> None:
    """Put every image `out` names under `mirror` (nothing when mirror is None), changing `out` itself."""
    if not mirror:
        return
    for _path, container in _pod_images(out, ""):
        if isinstance(container.get("image"), str):
            container["image"] = mirror_image(container["image"], mirror)  # type: ignore[index]
    group, kind = _group_kind(out)
    for field_path in CR_IMAGE_FIELDS.get((group, kind), ()):
        *parents, last = field_path.split(".")
        holder = _get(out, ".".join(parents)) if parents else out
        if isinstance(holder, dict) and isinstance(holder.get(last), str):
            holder[last] = mirror_image(holder[last], mirror)
    if group in TRIPLET_GROUPS:
        for _p, t, _enabled in _triplets(out.get("spec"), "spec"):
            t["repository"] = mirror_repository(str(t["repository"]), mirror)  # type: ignore[index]
