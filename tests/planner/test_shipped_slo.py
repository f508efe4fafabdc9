"""Every model a shipped stack declares meets its SLO at its declared traffic, by the planner's calibrated estimate:
a shipped stack is an example users copy, so its deployment must be one the planner stands behind."""

from __future__ import annotations

import pytest

from components.catalog.prices import PriceBook
from components.loader import read_stack_file, spec_from_stack_file
from serving.planner.search import evaluate
from serving.planner.spec import deployed, target_for, workload_for
from tests.conftest import REPO, SHIPPED_STACKS


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_deployments_meet_their_slo(stack: str) -> None:
    spec = spec_from_stack_file(read_stack_file(str(REPO / "stacks" / f"Pulumi.{stack}.yaml")))
    missed = []
    for model in spec.serving.models:
        t, d, w = target_for(spec, model, PriceBook.for_spec(spec)), deployed(model), workload_for(spec, model)
        if t is None or d is None or w is None or model.slo is None:
            continue
        e = evaluate(t, d, w)
        if not e.meets(w):
            missed.append((model.name, e.binding(w), round(e.ttft_s * 1e3), round(e.itl_s * 1e3, 1)))
    assert missed == []
