"""`inference-ra export STACK --format argocd|flux`: the Kubernetes part of a plan as a directory a GitOps controller
syncs, in the plan's dependency order (docs/gitops.md).

units.py turns plan.json into units with waves; render.py writes them as Argo CD Applications or Flux objects;
this module validates the controller objects strictly against their CRDs (fail closed: no CRDs, no export) and writes
the directory with the plan writer (stacks/output.py `write_tree`: atomic, marker-guarded, never half-written).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.export.render import FORMATS, GitSettings, gitops_objects, render
from stacks.export.units import ExportError, ExportModel, build_model

__all__ = ["FORMATS", "ExportError", "ExportResult", "GitSettings", "export_plan", "write_export"]

MARKER_TEXT = (
    "inference-ra export directory: `inference-ra export` replaces it as a whole. Keep nothing else here; commit it "
    "to the Git repository the root object points at.\n"
)


@dataclass(frozen=True)
class ExportResult:
    model: ExportModel
    files: Mapping[str, Mapping[str, Any]]
    readme: str
    findings: tuple[str, ...]  # strict CRD validation of the controller objects; empty when valid
    validated: int


def export_plan(
    plan_json: Mapping[str, Any], fmt: str, git: GitSettings, crd_dir: Path, image_mirror: str | None = None
) -> ExportResult:
    """Build and validate the export of a plan (raises ExportError for a plan that cannot be exported);
    `image_mirror` is the stack's `images.mirror`."""
    from stacks.validate import Validator

    if fmt not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    model = build_model(plan_json, image_mirror)
    files = render(model, fmt, git)
    validator = Validator("1.33", crd_dir)
    findings: list[str] = []
    controller = gitops_objects(files)
    for rel, obj in controller:
        findings += [f"{rel}: {f.render()}" for f in validator.validate_object(dict(obj))]
    return ExportResult(model, files, readme(model, fmt, git), tuple(findings), len(controller))


def readme(model: ExportModel, fmt: str, git: GitSettings) -> str:
    entry = f"root/Application-{model.stack}.yaml" if fmt == "argocd" else "root/ (GitRepository + Kustomization)"
    lines = [
        f"# {model.stack}: GitOps export ({fmt})",
        "",
        "Written by `inference-ra export`; regenerate it, do not edit it. docs/gitops.md explains every field.",
        "",
        f"Commit this directory at `{git.repo_path or '.'}` of {git.repo_url} ({git.revision}), then apply "
        f"`{entry}` once to the cluster's {'Argo CD' if fmt == 'argocd' else 'Flux'} namespace `{git.namespace}`.",
        "",
        "## Order (the plan's dependsOn)",
        "",
        "| wave | unit | what | after |",
        "|---:|---|---|---|",
    ]
    units = sorted(
        [
            (c.wave, model.name_of(c), f"chart {c.source.chart or c.source.url}@{c.source.version}", c.depends_on)
            for c in model.charts
        ]
        + [(g.wave, model.name_of(g), f"{len(g.objects)} objects ({g.layer})", g.depends_on) for g in model.groups]
    )
    for wave, name, what, deps in units:
        lines.append(f"| {wave} | {name} | {what} | {', '.join(deps) or '-'} |")
    lines += ["", "## Left to you", ""]
    lines += [f"- {item}" for item in model.left_out] or ["- nothing from the plan"]
    lines.append(
        "- everything outside Kubernetes (cloud network, cluster, node pools, file systems): `pulumi up` of the "
        "infra layer, or your own tooling"
    )
    hooked = [c for c in model.charts if c.hooks]
    if hooked:
        lines += ["", "## Chart hooks", ""]
        for c in hooked:
            runs = "run by Helm under Pulumi too" if c.hooks_run else "never run under Pulumi (helm.v4.Chart)"
            ctl = (
                "Argo CD runs them as sync hooks"
                if fmt == "argocd"
                else ("Flux runs them" if c.hooks_run else "disabled here (install/upgrade.disableHooks)")
            )
            lines.append(f"- {c.release}: {'; '.join(c.hooks)} — {runs}; {ctl}")
    return "\n".join(lines) + "\n"


def write_export(out_dir: Path, result: ExportResult) -> Path:
    from stacks.output import check_relpath, dump_yaml, safe_join, write_tree

    def fill(root: Path) -> None:
        for rel, obj in sorted(result.files.items()):
            path = safe_join(root, check_relpath(rel))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dump_yaml(obj), encoding="utf-8")
        (root / "README.md").write_text(result.readme, encoding="utf-8")

    return write_tree(out_dir, fill, MARKER_TEXT)
