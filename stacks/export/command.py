"""The `export` verb's body (stacks/cli.py registers it): synth, build, validate strictly, write atomically.

Exit codes (DESIGN.md ★ CLI): 0 written · 1 the export failed its own CRD validation (a bug; nothing written) ·
2 bad config or input (unknown format, no CRDs, a plan that cannot be exported, a refused --out).
"""

from __future__ import annotations

from pathlib import Path

from stacks.cli_support import EXIT_INVALID, emit_json, err, fail, out, synth_or_exit, upstream_root
from stacks.export import FORMATS, ExportError, GitSettings, export_plan, write_export

DEFAULT_NAMESPACE = {"argocd": "argocd", "flux": "flux-system"}


def crd_dir_or_exit(flag: str | None) -> Path:
    """The upstream CRDs (Argo CD and Flux among them). Fail closed: without them nothing is exported."""
    import os

    for where, value in (("--crd-dir", flag), ("INFERENCE_RA_CRD_DIR", os.environ.get("INFERENCE_RA_CRD_DIR"))):
        if value:
            if not Path(value).is_dir():
                fail(f"{where} {value} is not a directory")
            return Path(value)
    candidate = upstream_root() / "crds"
    if not candidate.is_dir():
        fail(
            "export validates every Argo CD / Flux object against its CRD and found none: give --crd-dir "
            "(or INFERENCE_RA_CRD_DIR) with argocd/ and flux/ CRDs"
        )
    return candidate


def run_export(
    stack: str,
    fmt: str,
    repo_url: str,
    revision: str,
    repo_path: str,
    namespace: str | None,
    out_dir: str | None,
    crd_dir: str | None,
    charts_dir: str | None,
    as_json: bool,
) -> None:
    from components.loader import SpecError, read_stack_file
    from stacks.cli_support import fail_config
    from stacks.output import OutputError, preflight

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if not repo_url or any(c.isspace() for c in repo_url):
        fail("--repo-url must be the Git repository URL the export is committed to (the root object syncs it)")
    if repo_path.startswith("/") or ".." in repo_path.split("/"):
        fail(f"--repo-path must be a path inside the repository, without `..` (got {repo_path!r})")
    crds = crd_dir_or_exit(crd_dir)
    try:
        name = read_stack_file(stack).name
        target = Path(out_dir or f"out/gitops/{name}-{fmt}")
        preflight(target)  # refuse before spending the synth
    except SpecError as exc:
        fail_config(exc)
    except OutputError as exc:
        fail(str(exc))
    name, plan = synth_or_exit(stack, charts_dir)
    git = GitSettings(repo_url, revision, repo_path.strip("/"), namespace or DEFAULT_NAMESPACE[fmt])
    try:
        result = export_plan(plan.to_json(), fmt, git, crds, plan.spec.images.mirror)
    except ExportError as exc:
        fail(f"export {name}: {exc}")
    if result.findings:
        for finding in result.findings:
            err.print(f"INVALID {finding}", soft_wrap=True, markup=False)
        fail(f"export {name}: {len(result.findings)} exported object(s) fail their CRD; nothing written", EXIT_INVALID)
    try:
        written = write_export(target, result)
    except OutputError as exc:
        fail(str(exc))
    waves = [c.wave for c in result.model.charts] + [g.wave for g in result.model.groups]
    doc = {
        "stack": name,
        "format": fmt,
        "out": str(written),
        "charts": len(result.model.charts),
        "objectGroups": len(result.model.groups),
        "objects": sum(len(g.objects) for g in result.model.groups),
        "waves": 1 + max(waves, default=-1),
        "validated": result.validated,
        "leftOut": list(result.model.left_out),
    }
    if as_json:
        emit_json(doc)
        return
    out.print(
        f"{doc['charts']} charts and {doc['objects']} objects in {doc['objectGroups']} groups over {doc['waves']} "
        f"waves -> {written} ({doc['validated']} {fmt} objects valid against their CRDs)",
        soft_wrap=True,
    )
    for item in result.model.left_out:
        out.print(f"left to you: {item}", soft_wrap=True, markup=False)
