"""Every flag, environment variable and config key the serving layer renders, collected from rendered objects, for
the reader table in docs/serving.md ("Rendered fields and their readers").

Names: `--flag` (engine, frontend, planner arguments), `ENV_NAME`, `<flag>.<json path>` for JSON-valued flags
(`--kv-transfer-config.kv_connector_extra_config.backends`, lists as `[]`), `eppConfig.<path>` and
`epp plugin <type>`, `component.<key>` / `spec.<key>` / `annotation <key>` of the DynamoGraphDeployment, and
`<chart>:<values path>` for the charts serving installs (dynamo-platform, keda).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

JSON_FLAGS = ("--kv-transfer-config", "--kv-events-config", "--override-engine-args", "--config")
PLATFORM_CHARTS = ("dynamo-platform", "keda")


def _paths(value: Any, prefix: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _paths(v, f"{prefix}.{k}")
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for v in value:
            yield from _paths(v, f"{prefix}[]")
    else:
        yield prefix


def _args(args: list[str]) -> Iterator[str]:
    for i, a in enumerate(args):
        if not a.startswith("--"):
            continue
        yield a
        if a in JSON_FLAGS and i + 1 < len(args):
            yield from _paths(json.loads(args[i + 1]), a)


def graph_names(dgd: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    spec = dgd["spec"]
    out.update(f"spec.{k}" for k in spec if k != "components")
    out.update(f"annotation {k}" for k in dgd["metadata"].get("annotations", {}))
    for comp in spec["components"]:
        out.update(f"component.{k}" for k in comp)
        if "eppConfig" in comp:
            cfg = comp["eppConfig"]["config"]
            out.update(p for p in _paths(cfg, "eppConfig") if not p.startswith("eppConfig.schedulingProfiles"))
            out.update(f"epp plugin {p['type']}" for p in cfg["plugins"])
        for c in comp["podTemplate"]["spec"]["containers"]:
            out.update(_args([str(a) for a in c.get("args", [])]))
            out.update(e["name"] for e in c.get("env", []))
    return out


def chart_names(chart: str, values: Mapping[str, Any]) -> set[str]:
    return {f"{chart}:{p[1:]}" for p in _paths(values, "")}


def plan_names(plan: Any) -> set[str]:
    """Names in the serving objects of a synthesized plan (graphs and the serving charts' values)."""
    out: set[str] = set()
    for r in plan.resources:
        if r.inputs.get("kind") == "DynamoGraphDeployment":
            out |= graph_names(r.inputs)
        elif r.type == "kubernetes:helm.sh/v4:Chart":
            name = str(r.inputs.get("chart", "")).rsplit("/", 1)[-1]
            if name in PLATFORM_CHARTS:
                out |= chart_names(name, r.inputs.get("values") or {})
    return out
