"""The fleet generator makes specs that pass every spec rule, and the scale benchmark's pieces run (tiny size,
no timings asserted: figures belong in docs/performance.md, not in tests)."""

from __future__ import annotations

import pytest

from bench.fleet import fleet_config, fleet_stack_file
from bench.synth_scale import (
    floor_program,
    rendered,
    replay_program,
    run_floor,
    run_synth,
    validate_cached,
    validate_uncached,
)
from components.loader import spec_from_stack_file
from stacks.engine import run_offline
from tests.conftest import CHART_VALUES_DIR, CRD_DIR


@pytest.mark.parametrize("provider", ["existing", "aws"])
def test_default_fleet_passes_the_spec_rules(provider: str) -> None:
    spec = spec_from_stack_file(fleet_stack_file(provider=provider))
    assert len(spec.gpu_pools) == 16
    assert sum(p.nodes.max for p in spec.gpu_pools) == 1024
    assert len(spec.serving.models) == 32
    assert {p.instance_type for p in spec.gpu_pools} == (
        {"dgx-h100", "hgx-h200-8gpu", "gb200-nvl72-tray"}
        if provider == "existing"
        else {"p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"}
    )
    assert spec.network.fabric.type == ("infiniband" if provider == "existing" else "efa")
    # every layer on
    assert spec.observability.enabled and spec.serving.triton and spec.scheduling.queues
    assert {m.autoscaling.mode for m in spec.serving.models} == {"keda", "planner-sla"}
    assert spec.storage.model_cache.prefetch
    assert all(p.acceptance.enabled and p.acceptance.gate for p in spec.gpu_pools)


def test_bare_metal_pools_have_different_rails_per_node() -> None:
    spec = spec_from_stack_file(fleet_stack_file())
    rails = {p.instance_type: spec.rails_per_node(p) for p in spec.gpu_pools}
    assert rails == {"dgx-h100": 8, "hgx-h200-8gpu": 8, "gb200-nvl72-tray": 4}


def test_size_is_a_parameter() -> None:
    config = fleet_config(nodes=100, pools=3, models=5)
    assert [p["nodes"]["max"] for p in config["gpuPools"]] == [34, 33, 33]
    assert len(config["serving"]["models"]) == 5
    with pytest.raises(ValueError, match="nodes >= pools"):
        fleet_config(nodes=2, pools=4)


def test_synth_scale_pieces_run_at_tiny_size(requires_upstream: None) -> None:
    plan = run_synth(64, 4, 4, "existing")
    assert sum(r.type == "kubernetes:core/v1:NodePatch" for r in plan.resources) == 64
    assert run_floor(10) == 10
    # the replay floor reproduces the plan's registrations exactly
    replayed = run_offline(replay_program(plan.resources), stack=plan.stack)
    assert [r.to_json() for r in replayed] == [r.to_json() for r in plan.resources]
    assert len(run_offline(floor_program(3), stack="floor")) == 3
    objects, charts = rendered(plan)
    assert objects and charts
    version = plan.spec.cluster.kubernetes_version
    assert CRD_DIR.is_dir() and CHART_VALUES_DIR.is_dir()
    assert validate_cached(objects, charts, version) == 0
    assert validate_uncached(objects[:20], charts, version) == 0
