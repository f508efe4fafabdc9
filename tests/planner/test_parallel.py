"""Data, pipeline and expert parallelism in the planner: memory, time, search, `sizing: auto` and report.md, on
DeepSeek-R1 (MLA, 256 experts top-8) and gpt-oss (GQA, 128 or 32 experts top-4) shapes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from components.catalog import ARCHITECTURES, GPUS, NODE_TYPES
from serving.planner import model as m
from serving.planner.report import planner_section
from serving.planner.search import Deployment, Target, Workload, evaluate, plan
from serving.planner.spec import deployed
from serving.planner.summary import summarize
from tests.planner.helpers import config, spec

R1 = ARCHITECTURES["deepseek-r1"]
OSS = ARCHITECTURES["gpt-oss-120b"]
H200 = GPUS["h200-sxm-141gb"]
GB200 = GPUS["gb200"]


def ncp_with_decode(decode: dict[str, object]) -> dict:  # type: ignore[type-arg]
    cfg = config("ncp-ib")
    cfg["inference-ra:serving"]["models"][0]["decode"] = decode
    return cfg


def test_deployed_counts_every_gpu_of_a_data_parallel_replica() -> None:
    s = spec(
        ncp_with_decode(
            {"tensorParallel": 1, "dataParallel": 8, "expertParallel": True, "replicas": 1, "multinode": True}
        )
    )
    d = deployed(s.serving.models[0])
    assert d is not None
    assert (d.tp, d.dp, d.ep, d.replicas) == (1, 8, True, 1)
    assert d.gpus == 2 * 8 + 8  # prefill 2 x TP8 + decode 1 x (TP1 x DP8)


def test_report_shows_the_data_parallel_decode_with_its_gpus_and_kv() -> None:
    """Issue 17 item 11: a decode of tensorParallel 1, dataParallel 8 was reported as one TP1 GPU with 0 KV."""
    s = spec(
        ncp_with_decode(
            {"tensorParallel": 1, "dataParallel": 8, "expertParallel": True, "replicas": 1, "multinode": True}
        )
    )
    row = next(line for line in planner_section(SimpleNamespace(spec=s)).splitlines() if "| deepseek-r1 |" in line)
    cells = [c.strip() for c in row.split("|")]
    assert cells[3] == "disagg P 2x TP8 + D 1x TP1 DP8 EP"
    assert cells[4] == "24"
    kv = int(cells[5].split(" ")[0].replace(",", ""))
    assert kv == m.kv_capacity_tokens(R1, GB200, m.Parallel(tp=1, dp=8, ep=True), "fp8", "fp8", 0.9) > 0


def test_moe_weights_per_gpu_shard_experts_over_every_dp_rank() -> None:
    # DeepSeek-R1 FP8: per expert (671 - 37) / (256 - 8) = 2.5565e9 params, experts 256 x that = 654.5e9,
    # non-expert 16.5e9; TP1 x DP8: non-expert whole on every GPU, experts / 8
    per_expert = (671 - 37) * 1e9 / 248
    experts = 256 * per_expert
    p = m.Parallel(tp=1, dp=8, ep=True)
    assert m.weights_per_gpu_bytes(R1, "fp8", p) == pytest.approx((671e9 - experts) + experts / 8)
    assert m.weights_per_gpu_bytes(R1, "fp8", 8) == pytest.approx(671e9 / 8)  # TP8: everything / 8
    dense = ARCHITECTURES["llama-3.3-70b"]
    assert m.weights_per_gpu_bytes(dense, "fp8", m.Parallel(tp=2, dp=4)) == pytest.approx(70.6e9 / 2)  # replicated


def test_attention_dp_stops_replicating_the_mla_cache() -> None:
    # TP8 replicates DeepSeek's latent KV on all 8 GPUs; TP1 x DP8 keeps one copy per DP rank
    tp8 = m.kv_capacity_tokens(R1, GB200, 8, "fp8", "fp8")
    dp8 = m.kv_capacity_tokens(R1, GB200, m.Parallel(tp=1, dp=8, ep=True), "fp8", "fp8")
    usable = GB200.hbm_bytes * 0.85
    per_token = 61 * 576  # fp8 MLA latent + rope per layer
    assert tp8 == int((8 * usable - 671e9) // (per_token * 8))
    per_gpu = m.weights_per_gpu_bytes(R1, "fp8", m.Parallel(tp=1, dp=8, ep=True))
    assert dp8 == 8 * int((usable - per_gpu) // per_token)
    assert dp8 > 4 * tp8


def test_pipeline_parallelism_fits_what_one_node_cannot() -> None:
    l405 = ARCHITECTURES["llama-3.1-405b"]
    h100 = GPUS["h100-sxm-80gb"]
    assert m.kv_capacity_tokens(l405, h100, 8, "bf16", "bf16") == 0  # 812 GB of BF16 on 8 x 80 GB
    pp2 = m.Parallel(tp=8, pp=2)
    assert m.weights_per_gpu_bytes(l405, "bf16", pp2) == pytest.approx(405.9e9 * 2 / 16)
    assert m.kv_capacity_tokens(l405, h100, pp2, "bf16", "bf16") > 100_000


def test_pipeline_decode_latency_is_the_whole_model_at_tp_for_a_micro_batch() -> None:
    # pp stages run one after another: a token crosses all layers; the batch splits into pp micro-batches
    l405 = ARCHITECTURES["llama-3.1-405b"]
    h100 = GPUS["h100-sxm-80gb"]
    eff = m.efficiency_for(h100.key)
    pp2 = m.Parallel(tp=8, pp=2)
    itl = m.decode_step_time(l405, h100, 64, 4096, pp2, "bf16", "bf16", eff)
    one_pass = m.step_time(l405, h100, 8, "bf16", "bf16", batch=32, context=4096, eff=eff)
    assert itl == pytest.approx(one_pass + m.pipeline_hops_time(h100, pp2, 32, l405, eff, 400.0))
    assert m.pipeline_hops_time(h100, pp2, 32, l405, eff, 400.0) > eff.allreduce_latency_s


def test_data_parallel_decode_spreads_the_batch_and_shares_the_experts() -> None:
    eff = m.efficiency_for(H200.key)
    dp = m.Parallel(tp=1, dp=8, ep=True)
    step = m.decode_step_time(R1, H200, 256, 8192, dp, "fp8", "fp8", eff)
    # one DP rank decodes 32 sequences; the experts see all 256 tokens, sharded over 8 GPUs
    direct = m.step_time(R1, H200, dp, "fp8", "fp8", batch=32, context=8192, eff=eff)
    assert step == pytest.approx(direct)
    assert m.alltoall_time(H200, dp, 32, R1, eff, 400.0) > 0  # EP dispatch/combine is paid
    assert m.alltoall_time(H200, m.Parallel(tp=8), 32, R1, eff, 400.0) == 0  # plain TP: all-reduces only


def test_gpt_oss_fits_one_h200_and_dp_replicates_only_attention() -> None:
    # gpt-oss-120b in MXFP4: 116.8e9 x 0.5 B = 58.4 GB, fits one H200
    assert m.kv_capacity_tokens(OSS, H200, 1, "mxfp4", "bf16") > 0
    dp4 = m.Parallel(tp=1, dp=4, ep=True)
    per_expert = (116.8 - 5.1) * 1e9 / (128 - 4)
    experts = 128 * per_expert
    assert m.weights_per_gpu_bytes(OSS, "mxfp4", dp4) == pytest.approx(((116.8e9 - experts) + experts / 4) * 0.5)
    small = ARCHITECTURES["gpt-oss-20b"]
    assert small.experts == 32 and small.experts_per_token == 4 and small.layers == 24
    assert m.kv_capacity_tokens(small, H200, 1, "mxfp4", "bf16") > m.kv_capacity_tokens(OSS, H200, 1, "mxfp4", "bf16")


def test_search_considers_attention_dp_for_moe_and_not_for_dense() -> None:
    w = Workload(8192, 1024, 2000, 50, rps=8)
    moe = Target(R1, H200, NODE_TYPES["hgx-h200-8gpu"], "fp8", "fp8")
    assert any(p.dp > 1 and p.ep for p in moe.shapes(w))
    dense = Target(ARCHITECTURES["llama-3.3-70b"], H200, NODE_TYPES["hgx-h200-8gpu"], "fp8")
    assert all(p.dp == 1 and not p.ep for p in dense.shapes(w))


def test_deepseek_on_h200_long_context_chooses_attention_dp() -> None:
    """KV-bound: 8k+1k sequences at high concurrency. TP8 replicates the MLA cache 8 times; TP1 x DP8 x EP
    holds ~6x the sequences on the same 8 GPUs, so the planner's fewest-GPU answer uses DP."""
    t = Target(R1, H200, NODE_TYPES["hgx-h200-8gpu"], "fp8", "fp8")
    w = Workload(8192, 1024, 5000, 60, concurrency=512)
    p = plan(t, w, ("aggregated",))
    assert p.estimate is not None
    d = p.estimate.deployment
    assert d.dp > 1 and d.ep and d.tp == 1
    tp_only = evaluate(t, Deployment("aggregated", 8, d.gpus // 8), w)
    assert not tp_only.meets(w)  # the same GPUs as TP8 replicas do not hold the sequences
    s = summarize(p)
    assert (s["dataParallel"], s["expertParallel"], s["pipelineParallel"]) == (d.dp, True, 1)
    assert s["gpus"] == d.gpus and "DP" in p.explanation


def test_auto_sizing_writes_data_and_expert_parallelism() -> None:
    cfg = config("ncp-ib")
    model = cfg["inference-ra:serving"]["models"][0]
    for role in ("prefill", "decode"):
        model.pop(role)
    model.update(
        {
            "mode": "aggregated",
            "pool": "h200",
            "sizing": "auto",
            "slo": {"ttftMs": 5000, "itlMs": 60, "isl": 8192, "osl": 1024},
            "traffic": {"concurrency": 512},
            "maxModelLen": 16384,
        }
    )
    w = spec(cfg).serving.models[0].worker
    assert w is not None
    assert w.data_parallel > 1 and w.expert_parallel and w.tensor_parallel == 1 and w.pipeline_parallel == 1
    assert w.multinode == (w.gpus_per_replica > 8)


def test_auto_sizing_writes_pipeline_parallelism_where_a_node_is_too_small() -> None:
    # Llama-3.1-405B in BF16 (812 GB) does not fit a p5's 8 x 80 GB: TP8 x PP2 over two nodes
    cfg = config("aws-h100")
    model = cfg["inference-ra:serving"]["models"][0]
    for key in ("prefill", "decode", "kvCache", "autoscaling", "benchmark", "weightsDtype"):
        model.pop(key, None)
    model.update(
        {
            "architecture": "llama-3.1-405b",
            "model": "meta-llama/Llama-3.1-405B-Instruct",
            "mode": "aggregated",
            "sizing": "auto",
            "slo": {"ttftMs": 20000, "itlMs": 200, "isl": 2048, "osl": 256},
            "traffic": {"rps": 0.2},
            "maxModelLen": 8192,
        }
    )
    cfg["inference-ra:serving"]["dynamo"]["grove"] = True  # multinode replicas need gang scheduling
    cfg["inference-ra:storage"]["modelCache"]["prefetch"] = ["meta-llama/Llama-3.1-405B-Instruct"]
    w = spec(cfg).serving.models[0].worker
    assert w is not None and w.pipeline_parallel >= 2 and w.tensor_parallel == 8 and w.multinode


def test_dense_data_parallel_is_replicas_inside_one_worker() -> None:
    # dense DP ranks are independent engines: TP2 x DP4 behaves like four TP2 replicas
    t = Target(ARCHITECTURES["llama-3.3-70b"], H200, NODE_TYPES["hgx-h200-8gpu"], "fp8")
    w = Workload(2048, 256, 1000, 40, rps=6)
    one = evaluate(t, Deployment("aggregated", 2, 1, dp=4), w)
    four = evaluate(t, Deployment("aggregated", 2, 4), w)
    assert one.kv_capacity_tokens == 4 * four.kv_capacity_tokens
    assert one.itl_s == pytest.approx(four.itl_s, rel=1e-6) and one.ttft_s == pytest.approx(four.ttft_s, rel=1e-6)
