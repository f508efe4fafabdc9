#!/usr/bin/env python3
"""Calibrate the capacity planner on a real GPU: time Llama-3.1-8B-shaped decode steps and prefills.

Two modes, one file:

  measure (on the GPU host; needs only PyTorch and a CUDA GPU, no repository import):
      python3 bench/calibrate_h100.py measure --out results.json
  fit (anywhere the repository is; no GPU):
      PYTHONPATH=. python3 bench/calibrate_h100.py fit results.json [--markdown]

`measure` builds the 32 transformer layers of Llama-3.1-8B (hidden 4096, 32 query / 8 KV heads of 128, SwiGLU
14336, vocabulary 128256) with random BF16 weights and a dense BF16 KV cache, and times with CUDA events:
  * decode steps (one new token per sequence) at several batch sizes and context lengths, captured in a CUDA
    graph as serving engines do (vLLM, SGLang and TensorRT-LLM all replay graphs for decode);
  * prefills of one sequence at several lengths (causal flash attention through SDPA).
It also records the two ceilings of the card (a large device-to-device copy and a large BF16 GEMM) so the fitted
efficiencies can be read against datasheet and achievable peaks.

`fit` asks the planner (serving/planner) for its predictions of the same shapes, fits the planner's efficiency
factors (prefill compute efficiency, decode bandwidth efficiency) by least squares on log ratios, and prints the
prediction/measurement ratio of every point with the fitted and the shipped factors.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

# Llama-3.1-8B (Hugging Face config.json of meta-llama/Llama-3.1-8B-Instruct)
HIDDEN = 4096
HEADS = 32
KV_HEADS = 8
HEAD_DIM = 128
INTER = 14336
VOCAB = 128256
LAYERS = 32

DECODE_BATCHES = (1, 8, 32, 64, 128, 256)
DECODE_CONTEXTS = (512, 2048, 4096, 8192)
PREFILL_LENGTHS = (256, 512, 1024, 2048, 4096, 8192, 16384)
KV_BUDGET_BYTES = 36 * 2**30  # dense KV cache buffer for the decode sweep (fits beside 16 GB of weights on 80 GB)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    assert torch.cuda.is_available(), "needs a CUDA GPU"
    dev = torch.device("cuda")
    torch.manual_seed(0)
    dt = torch.bfloat16
    props = torch.cuda.get_device_properties(dev)

    def timed(fn: Any, warmup: int, reps: int) -> dict[str, float]:
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(reps):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b))
        return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "reps": reps}

    # ---- ceilings -----------------------------------------------------------------------------------------
    src = torch.empty(2 * 2**30, dtype=torch.uint8, device=dev).random_()
    dst = torch.empty_like(src)
    copy = timed(lambda: dst.copy_(src), 3, 10)
    copy_tbps = 2 * src.numel() / (copy["median_ms"] / 1e3) / 1e12  # bytes read + written
    src = dst = torch.empty(0, device=dev)  # free the 4 GiB before the model is built
    n = 8192
    a_m = torch.randn(n, n, device=dev, dtype=dt)
    b_m = torch.randn(n, n, device=dev, dtype=dt)
    gemm = timed(lambda: a_m @ b_m, 3, 10)
    gemm_tflops = 2 * n**3 / (gemm["median_ms"] / 1e3) / 1e12
    a_m = b_m = torch.empty(0, device=dev)

    # ---- the model: random BF16 weights, scaled so activations stay finite --------------------------------
    def w(rows: int, cols: int) -> torch.Tensor:
        return torch.randn(rows, cols, device=dev, dtype=dt) * (1.0 / math.sqrt(cols))

    layers = [
        {
            "ln1": torch.ones(HIDDEN, device=dev, dtype=dt),
            "ln2": torch.ones(HIDDEN, device=dev, dtype=dt),
            "qkv": w((HEADS + 2 * KV_HEADS) * HEAD_DIM, HIDDEN),
            "o": w(HIDDEN, HEADS * HEAD_DIM),
            "gate_up": w(2 * INTER, HIDDEN),
            "down": w(HIDDEN, INTER),
        }
        for _ in range(LAYERS)
    ]
    final_ln = torch.ones(HIDDEN, device=dev, dtype=dt)
    lm_head = w(VOCAB, HIDDEN)
    embed = w(VOCAB, HIDDEN)
    weight_bytes = sum(t.numel() * t.element_size() for lyr in layers for t in lyr.values())
    weight_bytes += (lm_head.numel() + final_ln.numel()) * 2  # read per step (the embedding is a gather)

    def rms(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (HIDDEN,), g, 1e-5)

    def mlp(h: torch.Tensor, lyr: dict[str, torch.Tensor]) -> torch.Tensor:
        gu = h @ lyr["gate_up"].t()
        g, u = gu.split(INTER, dim=-1)
        return (F.silu(g) * u) @ lyr["down"].t()

    # ---- decode: one token per sequence against a dense KV cache of `ctx` tokens -------------------------
    kv_pool = torch.empty(KV_BUDGET_BYTES // 2, dtype=dt, device=dev).normal_()
    kv_bytes_per_token = 2 * LAYERS * KV_HEADS * HEAD_DIM * 2

    def kv_splits(batch: int, ctx: int) -> int:
        """Flash-decoding split of each sequence's KV so that small batches still fill the SMs."""
        splits = 1
        while batch * KV_HEADS * splits < 2 * props.multi_processor_count and ctx // (2 * splits) >= 256:
            splits *= 2
        return splits

    def attend(q: torch.Tensor, kc: torch.Tensor, vc: torch.Tensor, batch: int, splits: int) -> torch.Tensor:
        """GQA decode attention with split-KV (flash-decoding), as paged-attention kernels of engines do.

        q: [batch, KV_HEADS, HEADS // KV_HEADS, HEAD_DIM]: the query heads of one KV group attend as "positions"
        of that group (no mask for one new token), so each KV head is read once. kc/vc:
        [batch * splits, KV_HEADS, ctx // splits, HEAD_DIM]; partial results merge by their log-sum-exp.
        """
        if splits == 1:
            return F.scaled_dot_product_attention(q, kc, vc)
        qs = q.unsqueeze(1).expand(batch, splits, *q.shape[1:]).reshape(batch * splits, *q.shape[1:])
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention(qs, kc, vc)[:2]
        out = out.view(batch, splits, *q.shape[1:]).float()
        weights = torch.softmax(lse.view(batch, splits, *q.shape[1:3]), dim=1).unsqueeze(-1)
        return (out * weights).sum(dim=1).to(dt)

    def decode_step_fn(batch: int, ctx: int, splits: int) -> Any:
        per = batch * KV_HEADS * ctx * HEAD_DIM
        shape = (batch * splits, KV_HEADS, ctx // splits, HEAD_DIM)
        caches = [
            (
                kv_pool[(2 * i) * per : (2 * i + 1) * per].view(shape),
                kv_pool[(2 * i + 1) * per : (2 * i + 2) * per].view(shape),
            )
            for i in range(LAYERS)
        ]
        tokens = torch.randint(0, VOCAB, (batch,), device=dev)
        logits = torch.empty(batch, VOCAB, device=dev, dtype=dt)

        def step() -> None:
            x = embed[tokens]
            for lyr, (kc, vc) in zip(layers, caches, strict=True):
                h = rms(x, lyr["ln1"])
                qkv = h @ lyr["qkv"].t()
                q = qkv[:, : HEADS * HEAD_DIM].reshape(batch, KV_HEADS, HEADS // KV_HEADS, HEAD_DIM)
                att = attend(q, kc, vc, batch, splits)
                x = x + att.reshape(batch, HEADS * HEAD_DIM) @ lyr["o"].t()
                x = x + mlp(rms(x, lyr["ln2"]), lyr)
            logits.copy_(rms(x, final_ln) @ lm_head.t())

        return step

    # correctness of the split-KV merge against plain attention, on fresh random data
    q_chk = torch.randn(2, KV_HEADS, HEADS // KV_HEADS, HEAD_DIM, device=dev, dtype=dt)
    k_chk = torch.randn(2, KV_HEADS, 4096, HEAD_DIM, device=dev, dtype=dt)
    v_chk = torch.randn(2, KV_HEADS, 4096, HEAD_DIM, device=dev, dtype=dt)
    ref = F.scaled_dot_product_attention(q_chk.float(), k_chk.float(), v_chk.float())

    def to_splits(t: torch.Tensor) -> torch.Tensor:  # [b, h, ctx, d] -> [b * 8 splits, h, ctx / 8, d]
        return t.view(2, KV_HEADS, 8, 512, HEAD_DIM).transpose(1, 2).reshape(16, KV_HEADS, 512, HEAD_DIM)

    split = attend(q_chk, to_splits(k_chk), to_splits(v_chk), 2, 8)
    split_rel_err = float((split.float() - ref).norm() / ref.norm())
    print(f"split-KV attention relative error vs fp32 reference: {split_rel_err:.2e}", flush=True)
    del q_chk, k_chk, v_chk, ref, split

    decode: list[dict[str, Any]] = []
    for ctx in DECODE_CONTEXTS:
        for batch in DECODE_BATCHES:
            if 2 * LAYERS * batch * KV_HEADS * ctx * HEAD_DIM * 2 > KV_BUDGET_BYTES:
                continue
            # engines pick the KV split per shape; time no split and the occupancy split, keep the faster
            tried: dict[int, dict[str, float]] = {}
            graphed = True
            for splits in sorted({1, kv_splits(batch, ctx)}):
                step = decode_step_fn(batch, ctx, splits)
                try:
                    s = torch.cuda.Stream()
                    s.wait_stream(torch.cuda.current_stream())
                    with torch.cuda.stream(s):
                        for _ in range(2):
                            step()
                    torch.cuda.current_stream().wait_stream(s)
                    g = torch.cuda.CUDAGraph()
                    with torch.cuda.graph(g):
                        step()
                    run = g.replay
                except Exception as exc:
                    print(f"graph capture failed at b={batch} ctx={ctx}: {exc}; timing eager", file=sys.stderr)
                    graphed, run = False, step
                tried[splits] = timed(run, 5, args.reps)
                del step, run
                torch.cuda.empty_cache()
            splits = min(tried, key=lambda k: tried[k]["median_ms"])
            t = tried[splits]
            bytes_read = weight_bytes + batch * ctx * kv_bytes_per_token
            decode.append(
                {
                    "batch": batch,
                    "context": ctx,
                    "cuda_graph": graphed,
                    "kv_splits": splits,
                    "median_ms_by_splits": {str(k): v["median_ms"] for k, v in tried.items()},
                    **t,
                    "bytes_read": bytes_read,
                    "achieved_tbps": bytes_read / (t["median_ms"] / 1e3) / 1e12,
                }
            )
            print(f"decode b={batch:4d} ctx={ctx:6d} splits={splits:2d} {t['median_ms']:8.3f} ms", flush=True)
    kv_pool = torch.empty(0, device=dev)
    torch.cuda.empty_cache()

    # ---- prefill: one sequence of `length` tokens, causal, logits of the last token only ------------------
    def prefill_fn(length: int) -> Any:
        tokens = torch.randint(0, VOCAB, (length,), device=dev)

        def run() -> None:
            x = embed[tokens]
            for lyr in layers:
                h = rms(x, lyr["ln1"])
                qkv = h @ lyr["qkv"].t()
                q, k, v = qkv.split([HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM], dim=-1)
                q = q.view(1, length, HEADS, HEAD_DIM).transpose(1, 2)
                k = k.view(1, length, KV_HEADS, HEAD_DIM).transpose(1, 2)
                v = v.view(1, length, KV_HEADS, HEAD_DIM).transpose(1, 2)
                # expand the 8 KV heads to the 32 query heads (a copy of <1% of prefill time) so every PyTorch
                # version picks the flash kernel for the causal mask
                k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
                v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
                att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                x = x + att.transpose(1, 2).reshape(length, HEADS * HEAD_DIM) @ lyr["o"].t()
                x = x + mlp(rms(x, lyr["ln2"]), lyr)
            _ = rms(x[-1:], final_ln) @ lm_head.t()

        return run

    prefill: list[dict[str, Any]] = []
    for length in PREFILL_LENGTHS:
        t = timed(prefill_fn(length), 3, max(5, args.reps // 4))
        prefill.append({"length": length, **t})
        print(f"prefill len={length:6d} {t['median_ms']:8.3f} ms", flush=True)

    return {
        "model": "llama-3.1-8b (shapes), random bf16 weights",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "gpu": torch.cuda.get_device_name(dev),
        "gpu_memory_bytes": props.total_memory,
        "sms": props.multi_processor_count,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "command": " ".join(sys.argv),
        "weight_bytes_read_per_step": weight_bytes,
        "kv_bytes_per_token": kv_bytes_per_token,
        "split_kv_rel_err": split_rel_err,
        "ceilings": {"copy_tbps": copy_tbps, "gemm_bf16_tflops": gemm_tflops},
        "decode": decode,
        "prefill": prefill,
    }


def fit(args: argparse.Namespace) -> None:
    from serving.planner.calibration import fit_report

    with open(args.results, encoding="utf-8") as fh:
        results = json.load(fh)
    sys.stdout.write(fit_report(results, gpu_key=args.gpu, markdown=args.markdown))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    m = sub.add_parser("measure", help="time decode and prefill on this GPU (PyTorch + CUDA)")
    m.add_argument("--out", required=True, help="results JSON path")
    m.add_argument("--reps", type=int, default=30, help="timed repetitions per decode point")
    f = sub.add_parser("fit", help="compare with the planner and fit its efficiency factors")
    f.add_argument("results", help="results JSON from `measure`")
    f.add_argument("--gpu", default="h100-sxm-80gb", help="GPU catalog key to predict for")
    f.add_argument("--markdown", action="store_true", help="print the docs/calibration.md tables")
    args = parser.parse_args()
    if args.verb == "measure":
        started = time.time()
        results = measure(args)
        results["wall_s"] = round(time.time() - started, 1)
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
        print(f"wrote {args.out} in {results['wall_s']} s")
    else:
        fit(args)


if __name__ == "__main__":
    main()
