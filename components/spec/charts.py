"""`inference-ra:charts` (where Helm charts come from) and `inference-ra:images` (an image mirror).

Air-gapped clusters, which NCP clusters often are, reach neither the public chart repositories nor the public
registries. `charts.source` says where `pulumi up` (and `inference-ra synth`, which renders every chart offline)
takes each pinned chart from; `images.mirror` says which registry serves every image. docs/charts.md names the
reader of each field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.spec.base import SpecModel

# A registry host (with an optional port) and an optional path: `registry.ncp.example:5000/mirror`.
MIRROR_PATTERN = r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._-]+)*$"


class ChartsSpec(SpecModel):
    source: Literal["repositories", "local", "oci"] = Field(
        "repositories",
        description="Where every pinned chart comes from: `repositories` (the upstream Helm repositories and OCI "
        "registries named in components/catalog/versions.py), `local` (a directory of unpacked chart directories or "
        "`<chart>-<version>.tgz` archives, `localDir`), or `oci` (a mirror registry holding every chart under "
        "`ociPrefix/<chart>`).",
    )
    local_dir: str | None = Field(
        None,
        description="With source `local`: the chart directory. A relative path is relative to stacks/ (the "
        "Pulumi program's working directory, Pulumi.yaml `main: stacks/`), so `pulumi up` and `synth` read the "
        "same charts.",
    )
    oci_prefix: str | None = Field(
        None,
        pattern=r"^oci://[^\s]+[^/\s]$",
        description="With source `oci`: the registry prefix, e.g. oci://registry.ncp.example/charts; chart "
        "`<name>` is pulled as `<ociPrefix>/<name>:<version>`.",
    )

    @model_validator(mode="after")
    def _source_fields(self) -> ChartsSpec:
        if self.source == "local" and not self.local_dir:
            raise ValueError("source `local` needs `localDir` (a directory of chart directories or archives)")
        if self.source == "oci" and not self.oci_prefix:
            raise ValueError("source `oci` needs `ociPrefix` (e.g. oci://registry.example/charts)")
        if self.source != "local" and self.local_dir:
            raise ValueError(f"`localDir` is read only with source `local` (source is {self.source!r})")
        if self.source != "oci" and self.oci_prefix:
            raise ValueError(f"`ociPrefix` is read only with source `oci` (source is {self.source!r})")
        return self


class ImagesSpec(SpecModel):
    mirror: str | None = Field(
        None,
        pattern=MIRROR_PATTERN,
        description="Registry prefix that serves every image (no scheme), e.g. registry.ncp.example/mirror. An "
        "image `<registry>/<path>:<tag>` is pulled as `<mirror>/<registry>/<path>:<tag>` (the layout of "
        "`skopeo sync --scoped`; Docker Hub images as `<mirror>/docker.io/library/...`). Applied to every image the "
        "stack renders, to the image values of every chart the catalog knows, and to chart objects.",
    )
