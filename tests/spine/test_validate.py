"""The validator catches what the API server would reject; each check can fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stacks.validate import Validator, strictify, unknown_value_keys
from tests.conftest import CHART_VALUES_DIR, CRD_DIR


@pytest.fixture
def validator(requires_upstream: None) -> Validator:
    return Validator("1.33", CRD_DIR, CHART_VALUES_DIR)


def deployment(**container: Any) -> dict[str, Any]:
    c = {"name": "app", "image": "nvcr.io/nvidia/pytorch:25.08-py3", **container}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [c]}},
        },
    }


def test_valid_core_object_passes(validator: Validator) -> None:
    assert validator.validate_object(deployment()) == []


def test_core_unknown_field_is_rejected(validator: Validator) -> None:
    (f,) = validator.validate_object(deployment(imagePulPolicy="Always"))
    assert "imagePulPolicy" in f.message and f.path == "spec/template/spec/containers/0"


def test_core_wrong_type_is_rejected(validator: Validator) -> None:
    (f,) = validator.validate_object(deployment(ports=[{"containerPort": "http"}]))
    assert f.path == "spec/template/spec/containers/0/ports/0/containerPort"


def test_missing_name_is_rejected(validator: Validator) -> None:
    obj = deployment()
    del obj["metadata"]["name"]
    (f,) = validator.validate_object(obj)
    assert f.path == "metadata.name"


def queue(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "scheduling.run.ai/v2",
        "kind": "Queue",
        "metadata": {"name": "team-a"},
        "spec": {"resources": {"gpu": {"quota": 8, "limit": -1, "overQuotaWeight": 1}}, **spec},
    }


def test_valid_custom_resource_passes(validator: Validator) -> None:
    assert validator.validate_object(queue()) == []


def test_custom_resource_unknown_field_is_rejected(validator: Validator) -> None:
    findings = validator.validate_object(queue(priorityy=3))
    assert findings and "priorityy" in findings[0].message


def test_custom_resource_wrong_version_is_rejected(validator: Validator) -> None:
    obj = queue()
    obj["apiVersion"] = "scheduling.run.ai/v9"
    (f,) = validator.validate_object(obj)
    assert "no served CRD version" in f.message


def test_chart_unknown_value_key_is_rejected(validator: Validator) -> None:
    inputs = {"chart": "gpu-operator", "version": "v26.7.0", "values": {"driver": {"enabled": False, "enabeld": 1}}}
    (f,) = validator.validate_chart(inputs)
    assert f.path == "values.driver.enabeld"


def test_chart_known_keys_pass(validator: Validator) -> None:
    inputs = {"chart": "gpu-operator", "values": {"driver": {"enabled": False}, "dcgmExporter": {"enabled": True}}}
    assert validator.validate_chart(inputs) == []


def test_free_form_maps_accept_any_keys() -> None:
    defaults = {"nodeSelector": {}, "tolerations": [], "image": {"tag": ""}}
    values = {"nodeSelector": {"a": "b"}, "tolerations": [{"key": "x"}], "image": {"tag": "1", "tga": 2}}
    assert unknown_value_keys(values, defaults) == ["image.tga"]
    assert unknown_value_keys({"x": 1}, {"a": 1}) == ["x"]


def test_strictify_respects_preserve_unknown_fields() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": {}}, "x-kubernetes-preserve-unknown-fields": True}},
    }
    strict = strictify(schema)
    assert strict["additionalProperties"] is False
    assert "additionalProperties" not in strict["properties"]["a"]


def test_validator_without_upstream_notes_what_it_skipped(tmp_path: Path) -> None:
    result = Validator("1.33", None, None).validate_plan(
        {
            "resources": [
                {"type": "kubernetes:x/v1:Y", "inputs": {"apiVersion": "x/v1", "kind": "Y", "metadata": {"name": "y"}}}
            ]
        }
    )
    assert result.findings == [] and len(result.notes) == 2


def test_documented_commented_keys_are_accepted(validator: Validator) -> None:
    good = {"chart": "gpu-operator", "values": {"dcgmExporter": {"config": {"name": "my-metrics"}}}}
    assert validator.validate_chart(good) == []
    typo = {"chart": "gpu-operator", "values": {"dcgmExporter": {"config": {"nmae": "my-metrics"}}}}
    assert [f.path for f in validator.validate_chart(typo)] == ["values.dcgmExporter.config.nmae"]
    elsewhere = {"chart": "gpu-operator", "values": {"driver": {"config": {"name": "x"}}}}
    assert [f.path for f in validator.validate_chart(elsewhere)] == ["values.driver.config"]


def test_keys_below_a_map_a_template_passes_whole_have_that_reader() -> None:
    """dynamo-operator `toYaml .Values.controllerManager.manager.containerSecurityContext` and the nats chart's
    `mergeOverwrite $doc (.merge | default dict)` take any key below them (the rendered object is schema-checked)."""
    from stacks.validate import whole_map_reader

    tpl = "securityContext: {{- toYaml .Values.controllerManager.manager.containerSecurityContext | nindent 10 }}"
    key = "dynamo-operator.controllerManager.manager.containerSecurityContext.seccompProfile.type"
    assert whole_map_reader(key, tpl) == "toYaml .Values.controllerManager.manager.containerSecurityContext"
    assert whole_map_reader("dynamo-operator.controllerManager.manager.image.tga", tpl) == ""
    merge = "{{- $doc = mergeOverwrite $doc (deepCopy (.merge | default dict)) -}}"
    assert whole_map_reader("nats.podTemplate.merge.spec.securityContext", merge) == "(.merge | default dict)"
    assert whole_map_reader("nats.podTemplate.mrege.spec", merge) == ""


def test_rejects_a_misspelt_key_beside_a_whole_map(validator: Validator) -> None:
    values = {"dynamo-operator": {"controllerManager": {"manager": {"containerSecurityContxt": {"a": 1}}}}}
    inputs = {"chart": "dynamo-platform", "version": "1.4.0", "values": values}
    paths = [f.path for f in validator.validate_chart(inputs)]
    assert paths == ["values.dynamo-operator.controllerManager.manager.containerSecurityContxt"]
    ok = {"dynamo-operator": {"controllerManager": {"manager": {"containerSecurityContext": {"seccompProfile": {}}}}}}
    assert validator.validate_chart({**inputs, "values": ok}) == []
