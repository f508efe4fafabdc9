"""Catalogs are consistent with themselves, with the spec and with ../shared/upstream."""

from __future__ import annotations

from typing import Any

import pytest

from components.catalog import ARCHITECTURES, CHARTS, GPUS, IMAGES, NODE_TYPES
from components.spec import StackSpec
from tests.conftest import CHART_VALUES_DIR


def test_node_types_reference_known_gpus() -> None:
    assert {n.gpu for n in NODE_TYPES.values()} <= set(GPUS)


def test_p5_has_32_efa_interfaces_and_8_h100() -> None:
    p5 = NODE_TYPES["p5.48xlarge"]
    assert (p5.gpu, p5.gpus, p5.efa_interfaces, p5.memory_gib) == ("h100-sxm-80gb", 8, 32, 2048)


def test_llama_70b_kv_bytes_per_token() -> None:
    assert ARCHITECTURES["llama-3.3-70b"].kv_bytes_per_token("bf16") == 2 * 80 * 8 * 128 * 2 == 327_680


def test_deepseek_uses_mla_kv() -> None:
    assert ARCHITECTURES["deepseek-r1"].kv_bytes_per_token("bf16") == 61 * (512 + 64) * 2


def test_every_entry_names_its_source() -> None:
    for table in (GPUS, NODE_TYPES, ARCHITECTURES, CHARTS):
        for key, entry in table.items():
            assert entry.source, key


def test_images_are_pinned() -> None:
    for key, image in IMAGES.items():
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", key


@pytest.mark.usefixtures("requires_upstream")
def test_chart_values_files_exist_upstream() -> None:
    for name, ref in CHARTS.items():
        assert (CHART_VALUES_DIR / ref.values_file).is_file(), name


def _walk(schema: dict[str, Any], defs: dict[str, Any], seen: set[str], path: str = "") -> list[str]:
    missing = []
    for key, prop in (schema.get("properties") or {}).items():
        if "description" not in prop:
            missing.append(f"{path}.{key}")
    for ref in _refs(schema):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            missing += _walk(defs[name], defs, seen, name)
    return missing


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if "$ref" in node else []
        for v in node.values():
            out += _refs(v)
        return out
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_spec_field_has_a_description() -> None:
    schema = StackSpec.model_json_schema(by_alias=True)
    assert _walk(schema, schema.get("$defs", {}), set()) == []


def test_config_reference_is_current() -> None:
    from stacks.docgen import DOC, render

    assert DOC.read_text(encoding="utf-8") == render(), "docs/config.md is stale: run `make docs`"
