"""JSON Schemas of the stack config, from the spec (one source of truth):

- `config_schema()`: the `inference-ra:` keys (what `inference-ra schema` always printed);
- `stack_file_schema()`: a whole `Pulumi.<stack>.yaml` — `config: {inference-ra:<key>: ..., aws:region: ...}` — with
  the catalogs as enums (GPUs, node types, architectures, GPU Operator releases, AWS regions), for editors through
  yaml-language-server (README: "Editor support"). Editors complete and flag what synth would reject; synth remains
  the authority (cross-layer rules are not expressible in JSON Schema).
"""

from __future__ import annotations

import copy
from typing import Any

from components.catalog import ARCHITECTURES, GPUS, NODE_TYPES
from components.catalog.compat import GPU_OPERATOR_RELEASES
from components.spec import SECRET_KEYS, TOP_LEVEL_KEYS, StackSpec

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Top-level keys Pulumi itself writes into a stack file (pulumi/pulumi sdk/go/common/workspace/project.go
# ProjectStack: secretsprovider, encryptedkey, encryptionsalt, environment).
PULUMI_STACK_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt", "environment")


def config_schema() -> dict[str, Any]:
    doc = StackSpec.model_json_schema(by_alias=True)
    doc["$schema"] = DRAFT
    doc["title"] = "inference-ra stack config (keys under `inference-ra:`)"
    return doc


def _enum(prop: dict[str, Any], values: list[str]) -> None:
    """Constrain the string form of a property (plain, or the string branch of a oneOf/anyOf) to `values`."""
    for branch in [prop, *prop.get("oneOf", []), *prop.get("anyOf", [])]:
        if branch.get("type") == "string":
            branch["enum"] = values


def _aws_regions() -> list[str]:
    import pulumi_aws

    return sorted(r.value for r in pulumi_aws.Region)


def stack_file_schema() -> dict[str, Any]:
    spec = config_schema()
    defs = copy.deepcopy(spec.pop("$defs"))
    _enum(defs["GpuPoolSpec"]["properties"]["gpu"], sorted(GPUS))
    _enum(defs["GpuPoolSpec"]["properties"]["instanceType"], sorted(NODE_TYPES))
    _enum(defs["ModelSpec"]["properties"]["architecture"], sorted(ARCHITECTURES))
    _enum(defs["PrefetchSpec"]["properties"]["architecture"], sorted(ARCHITECTURES))
    _enum(defs["GpuOperatorSpec"]["properties"]["version"], sorted(GPU_OPERATOR_RELEASES))
    config: dict[str, Any] = {f"inference-ra:{key}": spec["properties"][key] for key in TOP_LEVEL_KEYS}
    secure = {
        "type": "object",
        "properties": {"secure": {"type": "string"}},
        "required": ["secure"],
        "additionalProperties": False,
        "description": "A Pulumi secret (`pulumi config set --secret`).",
    }
    config.update({f"inference-ra:{key}": secure for key in SECRET_KEYS})
    config["aws:region"] = {"type": "string", "enum": _aws_regions(), "description": "AWS region (aws clusters)."}
    return {
        "$schema": DRAFT,
        "title": "inference-ra stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": config,
                "required": [f"inference-ra:{k}" for k in spec.get("required", [])],
                # other providers' keys (aws:profile, kubernetes:context...) are theirs to check
                "patternProperties": {"^(?!inference-ra:)[A-Za-z0-9_.-]+:.+$": {}},
                "additionalProperties": False,
            },
            **{key: {} for key in PULUMI_STACK_KEYS},
        },
        "required": ["config"],
        "additionalProperties": False,
        "$defs": defs,
    }
