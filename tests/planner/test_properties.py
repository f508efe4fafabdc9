"""Properties of the planner that must hold for any input (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from components.catalog import ARCHITECTURES, GPUS, NODE_TYPES
from serving.planner import model as m
from serving.planner.report import capacity_rps
from serving.planner.search import Deployment, Target, Workload, plan
from serving.planner.summary import cost_per_hour, nodes_cost_per_hour

H100_NODE = NODE_TYPES["p5.48xlarge"]
ARCHS = st.sampled_from(["llama-3.1-8b", "qwen3-32b", "llama-3.3-70b"])
TARGETS = st.builds(
    lambda a, wd: Target(ARCHITECTURES[a], GPUS["h100-sxm-80gb"], H100_NODE, wd),
    ARCHS,
    st.sampled_from(["bf16", "fp8"]),
)


@settings(max_examples=25, deadline=None)
@given(t=TARGETS, tp=st.sampled_from([1, 2, 4, 8]))
def test_more_gpus_per_replica_never_lowers_kv_capacity(t: Target, tp: int) -> None:
    if tp < 8:
        assert t.kv_capacity(2 * tp) >= t.kv_capacity(tp)


@settings(max_examples=12, deadline=None)
@given(
    t=TARGETS,
    tp=st.sampled_from([2, 4, 8]),
    replicas=st.integers(1, 4),
    isl=st.integers(256, 4096),
    osl=st.integers(64, 512),
)
def test_more_replicas_never_lower_capacity(t: Target, tp: int, replicas: int, isl: int, osl: int) -> None:
    base = Workload(isl, osl, 2000, 60, rps=1.0)
    fewer = capacity_rps(t, Deployment("aggregated", tp, replicas), base)
    more = capacity_rps(t, Deployment("aggregated", tp, replicas + 1), base)
    assert more >= fewer * (1 - 1e-6)


@settings(max_examples=10, deadline=None)
@given(
    arch=st.sampled_from(["llama-3.1-8b", "qwen3-32b"]),
    itl=st.floats(8, 80),
    tighter=st.floats(0.3, 1.0),
    rps=st.floats(0.5, 20),
)
def test_tighter_itl_never_needs_fewer_gpus(arch: str, itl: float, tighter: float, rps: float) -> None:
    t = Target(ARCHITECTURES[arch], GPUS["h100-sxm-80gb"], H100_NODE, "fp8")
    loose = plan(t, Workload(2048, 256, 2000, itl, rps=rps), ("aggregated",))
    tight = plan(t, Workload(2048, 256, 2000, itl * tighter, rps=rps), ("aggregated",))
    if tight.estimate is not None:
        assert loose.estimate is not None
        assert tight.estimate.deployment.gpus >= loose.estimate.deployment.gpus


@settings(max_examples=50, deadline=None)
@given(gpus=st.integers(1, 512), more=st.integers(1, 64), node=st.sampled_from(sorted(NODE_TYPES)))
def test_cost_grows_with_gpus(gpus: int, more: int, node: str) -> None:
    nt = NODE_TYPES[node]
    t = Target(ARCHITECTURES["llama-3.1-8b"], GPUS[nt.gpu], nt)
    assert cost_per_hour(t, gpus + more) > cost_per_hour(t, gpus)
    nodes = -(-gpus // nt.gpus)
    assert nodes_cost_per_hour(t, -(-(gpus + more) // nt.gpus)) >= nodes_cost_per_hour(t, nodes)


@settings(max_examples=30, deadline=None)
@given(batch=st.floats(1, 512), ctx=st.floats(128, 32768), extra=st.floats(1, 64))
def test_decode_step_grows_with_batch_and_context(batch: float, ctx: float, extra: float) -> None:
    arch, gpu = ARCHITECTURES["llama-3.1-8b"], GPUS["h100-sxm-80gb"]
    t0 = m.decode_step_time(arch, gpu, batch, ctx, 1, "bf16", "bf16")
    assert m.decode_step_time(arch, gpu, batch + extra, ctx, 1, "bf16", "bf16") > t0
    assert m.decode_step_time(arch, gpu, batch, ctx + extra, 1, "bf16", "bf16") > t0
