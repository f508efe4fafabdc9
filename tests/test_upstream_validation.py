"""Every object of every shipped stack against upstream schemas (DESIGN.md: correctness against reality).

Core kinds strictly against Kubernetes OpenAPI, custom resources against the exact served CRD version, chart values
against the chart's values.yaml. Skipped (with the reason) when ../shared/upstream is absent.
"""

from __future__ import annotations

import pytest

from stacks.validate import Validator
from tests.conftest import CHART_VALUES_DIR, CRD_DIR, SHIPPED_STACKS, shipped_plan


@pytest.mark.usefixtures("requires_upstream")
@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_object_validates_against_upstream(stack: str) -> None:
    plan = shipped_plan(stack)
    validator = Validator(plan.spec.cluster.kubernetes_version, CRD_DIR, CHART_VALUES_DIR)
    result = validator.validate_plan(plan.to_json())
    assert result.notes == []
    assert [f.render() for f in result.findings] == []
    assert result.checked_objects > 0
