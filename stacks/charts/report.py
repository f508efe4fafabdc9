"""The report.md section on Helm charts: per chart its version, source, how it is deployed, what it renders and the
images it makes the cluster pull (digest where pinned)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.images import images_of, split_image

if TYPE_CHECKING:
    from stacks.engine import Plan


def charts_section(plan: Plan) -> str:
    if plan.charts is None or not (plan.charts.renderings or plan.charts.skipped):
        return ""
    spec = plan.spec
    source = spec.charts.source
    where = {"local": f" `{spec.charts.local_dir}`", "oci": f" `{spec.charts.oci_prefix}`"}.get(source, "")
    mirror = f"`{spec.images.mirror}`" if spec.images.mirror else "none"
    lines = [
        "## Helm charts",
        "",
        f"Chart source: `{source}`{where}; image mirror: {mirror}. Rendered offline with Helm's engine for "
        f"Kubernetes {plan.charts.renderings[0].kube_version if plan.charts.renderings else '?'} "
        f"({len(plan.charts.renderings)} charts, objects under `manifests/_charts/`).",
        "",
        "| release | chart | version | deployed as | source | objects | hooks (run) | digest |",
        "|---|---|---|---|---|---:|---|---|",
    ]
    for c in plan.charts.renderings:
        ran = len(c.applied_hooks)
        deploy = "helm.v3.Release" if c.deploy == "release" else "helm.v4.Chart"
        lines.append(
            f"| {c.release} | {c.located.ref.name} | {c.metadata.get('version', '')} | {deploy} | "
            f"{c.located.source} | {len(plan.charts.written[c.urn])} | {len(c.hooks)} ({ran}) | "
            f"`{c.located.digest[:19]}` |"
        )
    for urn, reason in sorted(plan.charts.skipped.items()):
        lines.append(f"| {urn.rsplit('::', 1)[-1]} | not rendered: {reason} | | | | | | |")
    generated = [(c.release, t, path) for c in plan.charts.renderings for t, path in c.generated]
    if generated:
        lines += ["", "Values Helm generates anew on every render, so on every `pulumi up` (a marker in the plan):", ""]
        lines += [f"- {release}: `{path}` ({template})" for release, template, path in generated]
    lines += [
        "",
        "Images each chart makes the cluster pull (pod containers and operator CRs; `tag` = not pinned by digest):",
    ]
    lines += ["", "| release | image | pinned |", "|---|---|---|"]
    for c in plan.charts.renderings:
        images = sorted({use.image for w in plan.charts.written[c.urn] for use in images_of(w.rendered.obj)})
        for image in images:
            digest = split_image(image)[3]
            lines.append(f"| {c.release} | `{image}` | {'digest ' + digest[:19] if digest else 'tag'} |")
    return "\n".join(lines)
