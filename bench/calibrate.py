#!/usr/bin/env python3
"""Calibrate the capacity planner on real GPUs: any GPU, one or several, BF16 and FP8, TP shards and NCCL.

Two verbs, one file:

  measure (on the GPU host; needs only PyTorch, CUDA and, for several GPUs, NCCL; no repository import):
      python3 bench/calibrate.py measure --out results.json
  fit (anywhere the repository is; no GPU):
      PYTHONPATH=. python3 bench/calibrate.py fit results.json --gpu h200-sxm-141gb [--markdown]

`measure` builds a few transformer layers of a catalog model's shape (default Llama-3.3-70B: hidden 8192, 64 query
/ 8 KV heads of 128, SwiGLU 28672, vocabulary 128256), random weights in BF16 and, where the GPU has FP8 tensor
cores (compute capability >= 8.9), FP8 E4M3 with per-tensor scales through `torch._scaled_mm` (static activation
scales, as FP8 checkpoints from TensorRT Model Optimizer carry), and times with CUDA events:

  * decode steps (one token per sequence against a dense BF16 KV cache) at several batches and contexts, captured
    in a CUDA graph and replayed, as vLLM, SGLang and TensorRT-LLM do;
  * prefills of one prompt at several lengths (causal flash attention through SDPA);

for each tensor-parallel degree in two ways:
  * `local`: one GPU runs one rank's shard (heads, KV heads, MLP columns and vocabulary divided by TP) with no
    communication: the arithmetic and bytes of a TP rank alone;
  * `nccl`: TP GPUs run their shards with an NCCL all-reduce after attention and after the MLP of every layer (one
    process per GPU, the all-reduces captured in the decode graphs), when the host has that many GPUs.
The difference between the two is the communication the planner models as `allreduce_time`. On several GPUs it
also times NCCL all-reduces alone (latency and bus bandwidth by size, in graphs) and GPU-to-GPU KV-block transfers
at the engines' block sizes (16 tokens vLLM, 32 TensorRT-LLM, 64 and 128): the whole prompt's KV in one peer copy
and one copy per (layer, K/V, block) as NIXL issues them, plus NCCL send/recv. NVLink multicast (NVLS) stays off:
NCCL_NVLS_ENABLE=0, TORCH_SYMM_MEM_DISABLE_MULTICAST=1 and NVSHMEM_DISABLE_NVLS=1 are set before torch loads and
passed to every rank. On one GPU the KV transfer is a same-GPU loopback (it exercises the code, it does not
measure a link).

`--smoke` runs a tiny shape on the CPU (gloo instead of NCCL, two ranks, no graphs) so every code path runs
before device time is spent. Results are written after every configuration, so a run stopped at its time limit
still leaves what it measured; `--budget-s` skips what would not fit.

`fit` (serving/planner/calibration.py) predicts every point with the planner, fits the GPU's efficiency factors and
prints the prediction/measurement ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# NVLink multicast off everywhere, before torch (and NCCL) load: see the docstring.
NCCL_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}
os.environ.update(NCCL_ENV)

# Hugging Face config.json of meta-llama/Llama-3.3-70B-Instruct and meta-llama/Llama-3.1-8B-Instruct
SHAPES: dict[str, dict[str, int]] = {
    "llama-3.3-70b": {"hidden": 8192, "heads": 64, "kv_heads": 8, "head_dim": 128, "inter": 28672, "vocab": 128256},
    "llama-3.1-8b": {"hidden": 4096, "heads": 32, "kv_heads": 8, "head_dim": 128, "inter": 14336, "vocab": 128256},
    "smoke": {"hidden": 256, "heads": 8, "kv_heads": 4, "head_dim": 32, "inter": 512, "vocab": 1024},
}
BLOCK_SIZES = (16, 32, 64, 128)  # KV block / page tokens: vLLM 16 (default), TensorRT-LLM 32, 64, 128


class Sweep:
    def __init__(self, smoke: bool, reps: int) -> None:
        self.decode_batches = (1, 4) if smoke else (1, 8, 32, 64, 128, 256)
        self.decode_contexts = (64, 128) if smoke else (512, 2048, 8192)
        self.prefill_lengths = (32, 64) if smoke else (256, 1024, 4096, 16384)
        self.kv_budget_bytes = 2**24 if smoke else 48 * 2**30
        self.reps = 2 if smoke else reps
        self.allreduce_bytes = (2**12, 2**16) if smoke else tuple(2**k for k in range(12, 29, 2))
        self.transfer_tokens = 64 if smoke else 4096


def _timer(torch: Any, cuda: bool) -> Callable[[Callable[[], Any], int, int], dict[str, float]]:
    def timed(fn: Callable[[], Any], warmup: int, reps: int) -> dict[str, float]:
        for _ in range(warmup):
            fn()
        if cuda:
            torch.cuda.synchronize()
        times = []
        for _ in range(reps):
            if cuda:
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                fn()
                b.record()
                torch.cuda.synchronize()
                times.append(a.elapsed_time(b))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "reps": reps}

    return timed


def _graphed(torch: Any, fn: Callable[[], None], cuda: bool) -> tuple[Callable[[], Any], bool, str]:
    """A CUDA graph replay of `fn` (warmed on a side stream first), or `fn` itself if capture fails."""
    if not cuda:
        return fn, False, "cpu"
    try:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(2):
                fn()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fn()
        return g.replay, True, ""
    except Exception as exc:  # recorded, then timed eagerly
        torch.cuda.synchronize()
        return fn, False, f"{type(exc).__name__}: {exc}"[:300]


class Stack:
    """`layers` transformer layers of one TP rank's shard, plus the (vocabulary-parallel) LM head."""

    def __init__(
        self, torch: Any, shape: dict[str, int], layers: int, tp: int, dtype: str, dev: Any, seed: int
    ) -> None:
        import torch.nn.functional as F

        self.torch, self.F, self.dev, self.dtype = torch, F, dev, dtype
        self.bf16 = torch.bfloat16
        self.hidden, self.hd = shape["hidden"], shape["head_dim"]
        for key in ("heads", "kv_heads", "inter", "vocab"):
            if shape[key] % tp:
                raise ValueError(f"{key} {shape[key]} is not divisible by TP {tp}")
        self.heads, self.kv_heads = shape["heads"] // tp, shape["kv_heads"] // tp
        self.inter, self.vocab = shape["inter"] // tp, shape["vocab"] // tp
        self.n_layers, self.tp = layers, tp
        gen = torch.Generator(device=dev).manual_seed(seed)
        self.one = torch.ones((), device=dev, dtype=torch.float32)
        self.pad16 = False

        def w(rows: int, cols: int) -> Any:
            t = torch.randn(rows, cols, device=dev, dtype=self.bf16, generator=gen) * (1.0 / math.sqrt(cols))
            if dtype == "bf16":
                return t
            scale = (t.abs().amax().float() / 448.0).reshape(())
            q = (t.float() / scale).to(torch.float8_e4m3fn)
            del t
            return (q, scale)

        self.layers = [
            {
                "ln1": torch.ones(self.hidden, device=dev, dtype=self.bf16),
                "ln2": torch.ones(self.hidden, device=dev, dtype=self.bf16),
                "qkv": w((self.heads + 2 * self.kv_heads) * self.hd, self.hidden),
                "o": w(self.hidden, self.heads * self.hd),
                "gate_up": w(2 * self.inter, self.hidden),
                "down": w(self.hidden, self.inter),
            }
            for _ in range(layers)
        ]
        self.final_ln = torch.ones(self.hidden, device=dev, dtype=self.bf16)
        self.lm_head = w(self.vocab, self.hidden)
        self.embed = torch.randn(shape["vocab"], self.hidden, device=dev, dtype=self.bf16, generator=gen)
        if dtype == "fp8":
            self._probe_fp8()

    def streamed_bytes(self) -> int:
        """Weight bytes one forward pass reads (all but the embedding, which is a gather)."""

        def nbytes(t: Any) -> int:
            t = t[0] if isinstance(t, tuple) else t
            return int(t.numel() * t.element_size())

        return sum(nbytes(t) for lyr in self.layers for t in lyr.values()) + nbytes(self.lm_head) + 2 * self.hidden

    def _probe_fp8(self) -> None:
        """cuBLASLt FP8 GEMMs want dimensions in multiples of 16; pad the token count if one row is refused."""
        x = self.torch.randn(1, self.hidden, device=self.dev, dtype=self.bf16)
        try:
            self.linear(x, self.layers[0]["qkv"])
        except RuntimeError:
            self.pad16 = True
            self.linear(x, self.layers[0]["qkv"])

    def linear(self, x: Any, w: Any) -> Any:
        if not isinstance(w, tuple):
            return x @ w.t()
        q, scale = w
        rows = x.shape[0]
        if self.pad16 and rows % 16:
            x = self.F.pad(x, (0, 0, 0, 16 - rows % 16))
        xq = x.to(self.torch.float8_e4m3fn)  # static activation scale 1.0: RMS-normed activations are O(1)
        out = self.torch._scaled_mm(xq, q.t(), scale_a=self.one, scale_b=scale, out_dtype=self.bf16)
        return out[:rows] if out.shape[0] != rows else out

    def rms(self, x: Any, g: Any) -> Any:
        return self.F.rms_norm(x, (self.hidden,), g, 1e-5)

    def mlp(self, h: Any, lyr: dict[str, Any]) -> Any:
        gu = self.linear(h, lyr["gate_up"])
        g, u = gu.split(self.inter, dim=-1)
        return self.linear(self.F.silu(g) * u, lyr["down"])

    def attend_decode(self, q: Any, kc: Any, vc: Any, batch: int, splits: int) -> Any:
        """GQA decode attention with split-KV (flash-decoding): q [batch, kv_heads, group, hd] attends as
        "positions" of its KV head (each KV head read once); kc/vc [batch * splits, kv_heads, ctx / splits, hd];
        partial results merge by their log-sum-exp."""
        F, torch = self.F, self.torch
        if splits == 1:
            return F.scaled_dot_product_attention(q, kc, vc)
        qs = q.unsqueeze(1).expand(batch, splits, *q.shape[1:]).reshape(batch * splits, *q.shape[1:])
        out, lse = torch.ops.aten._scaled_dot_product_flash_attention(qs, kc, vc)[:2]
        out = out.view(batch, splits, *q.shape[1:]).float()
        weights = torch.softmax(lse.view(batch, splits, *q.shape[1:3]), dim=1).unsqueeze(-1)
        return (out * weights).sum(dim=1).to(self.bf16)


def _kv_splits(batch: int, kv_heads: int, ctx: int, sms: int) -> int:
    """Flash-decoding split of each sequence's KV so that small batches still fill the SMs."""
    splits = 1
    while batch * kv_heads * splits < 2 * sms and ctx // (2 * splits) >= 256:
        splits *= 2
    return splits


def run_config(
    torch: Any,
    dev: Any,
    shape: dict[str, int],
    layers: int,
    tp: int,
    dtype: str,
    sweep: Sweep,
    allreduce: Callable[[Any], None] | None,
    rank: int,
    log: Callable[[str], None],
    prefill_graphs: bool = True,
) -> dict[str, Any]:
    """Decode sweep and prefill sweep of one rank's shard; `allreduce` (NCCL) between shards when given."""
    F = torch.nn.functional
    cuda = dev.type == "cuda"
    timed = _timer(torch, cuda)
    sms = torch.cuda.get_device_properties(dev).multi_processor_count if cuda else 8
    st = Stack(torch, shape, layers, tp, dtype, dev, seed=1000 + rank)
    bf16, H, KV, HD = st.bf16, st.heads, st.kv_heads, st.hd
    reduce = allreduce or (lambda t: None)
    checks: dict[str, float] = {}

    # correctness: one projection against a float64 reference on fresh random input; fp8 dequantized
    x = torch.randn(8, st.hidden, device=dev, dtype=bf16)
    w = st.layers[0]["qkv"]
    w_ref = (w[0].double() * w[1].double()) if isinstance(w, tuple) else w.double()
    ref = x.double() @ w_ref.t()
    checks["linear_rel_err"] = float((st.linear(x, w).double() - ref).norm() / ref.norm())
    if cuda and KV >= 1:
        q = torch.randn(2, KV, H // KV, HD, device=dev, dtype=bf16)
        k = torch.randn(2, KV, 2048, HD, device=dev, dtype=bf16)
        v = torch.randn(2, KV, 2048, HD, device=dev, dtype=bf16)
        r = F.scaled_dot_product_attention(q.float(), k.float(), v.float())

        def to_splits(t: Any) -> Any:
            return t.view(2, KV, 4, 512, HD).transpose(1, 2).reshape(8, KV, 512, HD)

        checks["split_kv_rel_err"] = float(
            (st.attend_decode(q, to_splits(k), to_splits(v), 2, 4).float() - r).norm() / r.norm()
        )
        del q, k, v, r
    del x, ref, w_ref
    log(f"[{dtype} tp{tp}{' nccl' if allreduce else ''}] checks {checks}")

    kv_bytes_per_token = 2 * layers * KV * HD * 2
    kv_pool = torch.empty(sweep.kv_budget_bytes // 2, dtype=bf16, device=dev)
    kv_pool.normal_()

    def decode_fn(batch: int, ctx: int, splits: int, kv_pool: Any = kv_pool) -> tuple[Callable[[], None], Any]:
        per = batch * KV * ctx * HD
        shp = (batch * splits, KV, ctx // splits, HD)
        caches = [
            (
                kv_pool[(2 * i) * per : (2 * i + 1) * per].view(shp),
                kv_pool[(2 * i + 1) * per : (2 * i + 2) * per].view(shp),
            )
            for i in range(layers)
        ]
        tokens = torch.randint(0, shape["vocab"], (batch,), device=dev)
        logits = torch.empty(batch, st.vocab, device=dev, dtype=bf16)

        def step() -> None:
            x = st.embed[tokens]
            for lyr, (kc, vc) in zip(st.layers, caches, strict=True):
                qkv = st.linear(st.rms(x, lyr["ln1"]), lyr["qkv"])
                q = qkv[:, : H * HD].reshape(batch, KV, H // KV, HD)
                att = st.attend_decode(q, kc, vc, batch, splits)
                y = st.linear(att.reshape(batch, H * HD), lyr["o"])
                reduce(y)
                x = x + y
                y = st.mlp(st.rms(x, lyr["ln2"]), lyr)
                reduce(y)
                x = x + y
            logits.copy_(st.linear(st.rms(x, st.final_ln), st.lm_head))

        return step, logits

    decode: list[dict[str, Any]] = []
    for ctx in sweep.decode_contexts:
        for batch in sweep.decode_batches:
            if batch * ctx * kv_bytes_per_token > sweep.kv_budget_bytes:
                continue
            tried: dict[int, dict[str, float]] = {}
            graphed, why = True, ""
            finite = True
            for splits in sorted({1, _kv_splits(batch, KV, ctx, sms)} if cuda else {1}):
                step, logits = decode_fn(batch, ctx, splits)
                run, ok, note = _graphed(torch, step, cuda)
                graphed, why = graphed and ok, why or note
                tried[splits] = timed(run, 5, sweep.reps)
                finite = finite and bool(torch.isfinite(logits).all())
                del step, run
                if cuda:
                    torch.cuda.empty_cache()
            splits = min(tried, key=lambda s: tried[s]["median_ms"])
            t = tried[splits]
            decode.append(
                {
                    "batch": batch,
                    "context": ctx,
                    "cuda_graph": graphed,
                    **({"graph_error": why} if why and why != "cpu" else {}),
                    "finite": finite,
                    "kv_splits": splits,
                    "median_ms_by_splits": {str(s): v["median_ms"] for s, v in tried.items()},
                    **t,
                }
            )
            log(f"[{dtype} tp{tp}] decode b={batch:4d} ctx={ctx:6d} splits={splits:2d} {t['median_ms']:8.3f} ms")
    del kv_pool, decode_fn  # the default argument holds the pool too
    if cuda:
        torch.cuda.empty_cache()

    def prefill_fn(length: int) -> Callable[[], None]:
        tokens = torch.randint(0, shape["vocab"], (length,), device=dev)

        def run() -> None:
            x = st.embed[tokens]
            for lyr in st.layers:
                qkv = st.linear(st.rms(x, lyr["ln1"]), lyr["qkv"])
                q, k, v = qkv.split([H * HD, KV * HD, KV * HD], dim=-1)
                q = q.view(1, length, H, HD).transpose(1, 2)
                # expand the KV heads to the query heads so every PyTorch version picks the flash kernel
                k = k.view(1, length, KV, 1, HD).expand(1, length, KV, H // KV, HD).reshape(1, length, H, HD)
                v = v.view(1, length, KV, 1, HD).expand(1, length, KV, H // KV, HD).reshape(1, length, H, HD)
                k, v = k.transpose(1, 2), v.transpose(1, 2)
                att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                y = st.linear(att.transpose(1, 2).reshape(length, H * HD), lyr["o"])
                reduce(y)
                x = x + y
                y = st.mlp(st.rms(x, lyr["ln2"]), lyr)
                reduce(y)
                x = x + y
            st.linear(st.rms(x[-1:], st.final_ln), st.lm_head)

        return run

    prefill: list[dict[str, Any]] = []
    for length in sweep.prefill_lengths:
        # graphed like decode: engines replay (piecewise) graphs or run compiled C++, without Python launch gaps
        run, graphed, why = _graphed(torch, prefill_fn(length), cuda and prefill_graphs)
        t = timed(run, 3, max(5, sweep.reps // 3) if cuda else 2)
        prefill.append(
            {"length": length, "cuda_graph": graphed, **({"graph_error": why} if why and why != "cpu" else {}), **t}
        )
        del run
        if cuda:
            torch.cuda.empty_cache()
        log(f"[{dtype} tp{tp}] prefill len={length:6d} {t['median_ms']:8.3f} ms graph={graphed}")
    out = {
        "tp": tp,
        "dtype": dtype,
        "comm": "nccl" if allreduce else "local",
        "layers": layers,
        "weight_bytes_read_per_step": st.streamed_bytes(),
        "kv_bytes_per_token": kv_bytes_per_token,
        "fp8_pad16": st.pad16,
        "checks": checks,
        "decode": decode,
        "prefill": prefill,
    }
    return out  # the shard's weights go with this frame


def allreduce_sweep(torch: Any, dist: Any, dev: Any, sweep: Sweep, world: int) -> list[dict[str, Any]]:
    """NCCL all-reduce of BF16 buffers by size: 20 calls captured in one graph, per-call median."""
    cuda = dev.type == "cuda"
    timed = _timer(torch, cuda)
    rows = []
    for nbytes in sweep.allreduce_bytes:
        buf = torch.ones(nbytes // 2, dtype=torch.bfloat16, device=dev)
        calls = 20

        def burst(buf: Any = buf, calls: int = calls) -> None:
            for _ in range(calls):
                dist.all_reduce(buf)

        dist.all_reduce(buf)
        run, graphed, why = _graphed(torch, burst, cuda)
        t = timed(run, 3, max(5, sweep.reps // 2))
        per_call_ms = t["median_ms"] / calls
        rows.append(
            {
                "world": world,
                "bytes": nbytes,
                "cuda_graph": graphed,
                **({"graph_error": why} if why and why != "cpu" else {}),
                "per_call_ms": per_call_ms,
                # bus bandwidth as nccl-tests defines it for all-reduce: 2 (n - 1) / n x bytes / time
                "busbw_gbps": 2 * (world - 1) / world * nbytes / (per_call_ms / 1e3) / 1e9,
            }
        )
        del buf, run
    return rows


def nccl_sendrecv(torch: Any, dist: Any, dev: Any, rank: int, sizes: list[int], reps: int) -> list[dict[str, Any]]:
    """Rank 0 sends a contiguous buffer to rank 1 (NCCL point-to-point over NVLink); other ranks idle."""
    cuda = dev.type == "cuda"
    rows = []
    for nbytes in sizes:
        buf = torch.empty(nbytes, dtype=torch.uint8, device=dev)
        times = []
        for i in range(3 + reps):
            dist.barrier()
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            if rank == 0:
                dist.send(buf, 1)
            elif rank == 1:
                dist.recv(buf, 0)
            if cuda:
                torch.cuda.synchronize()
            if i >= 3:
                times.append((time.perf_counter() - t0) * 1e3)
        med = statistics.median(times)
        rows.append({"bytes": nbytes, "median_ms": med, "gbps": nbytes / (med / 1e3) / 1e9, "timer": "host"})
        del buf
    return rows


def kv_transfer(
    torch: Any, src: Any, dst: Any, shape: dict[str, int], layers: int, tp: int, sweep: Sweep
) -> list[dict[str, Any]]:
    """Move one prompt's KV blocks from `src` to `dst`: one contiguous copy (the link's rate) and one copy per
    (layer, K or V, block) between scattered block slots (the descriptors NIXL posts), at each block size."""
    cuda = src.type == "cuda"
    timed = _timer(torch, cuda)
    kv, hd = shape["kv_heads"] // tp, shape["head_dim"]
    tokens = sweep.transfer_tokens
    rows = []
    for block in BLOCK_SIZES:
        if block > tokens:
            continue
        n_blocks = tokens // block
        pool = (layers, 2, 2 * n_blocks, block * kv * hd)  # twice the blocks: the prompt's slots are scattered
        a = torch.empty(pool, dtype=torch.bfloat16, device=src).normal_()
        b = torch.zeros(pool, dtype=torch.bfloat16, device=dst)
        gen = torch.Generator().manual_seed(block)
        src_ids = torch.randperm(2 * n_blocks, generator=gen)[:n_blocks].tolist()
        dst_ids = torch.randperm(2 * n_blocks, generator=gen)[:n_blocks].tolist()
        chunk_bytes = block * kv * hd * 2
        payload = layers * 2 * n_blocks * chunk_bytes
        flat_a = torch.empty(payload // 2, dtype=torch.bfloat16, device=src).normal_()
        flat_b = torch.empty(payload // 2, dtype=torch.bfloat16, device=dst)

        def contiguous(fa: Any = flat_a, fb: Any = flat_b) -> None:
            fb.copy_(fa, non_blocking=True)

        def chunked(a: Any = a, b: Any = b, s: list[int] = src_ids, d: list[int] = dst_ids) -> None:
            for layer in range(layers):
                for kvi in range(2):
                    for i, j in zip(s, d, strict=True):
                        b[layer, kvi, j].copy_(a[layer, kvi, i], non_blocking=True)

        t_c = timed(contiguous, 3, sweep.reps)
        run, graphed, _ = _graphed(torch, chunked, cuda and src == dst)  # cross-device copies are not captured
        t_k = timed(run, 2, max(3, sweep.reps // 4))
        ok = bool(torch.equal(b[0, 0, dst_ids[0]], a[0, 0, src_ids[0]].to(dst)))
        rows.append(
            {
                "src": str(src),
                "dst": str(dst),
                "tp": tp,
                "block_tokens": block,
                "prompt_tokens": tokens,
                "layers": layers,
                "chunk_bytes": chunk_bytes,
                "chunks": layers * 2 * n_blocks,
                "payload_bytes": payload,
                "contiguous_ms": t_c["median_ms"],
                "contiguous_gbps": payload / (t_c["median_ms"] / 1e3) / 1e9,
                "chunked_ms": t_k["median_ms"],
                "chunked_gbps": payload / (t_k["median_ms"] / 1e3) / 1e9,
                "chunked_cuda_graph": graphed,
                "copied_correctly": ok,
            }
        )
        del a, b, flat_a, flat_b, run
        if cuda:
            torch.cuda.empty_cache()
    return rows


def _worker(rank: int, world: int, cfg: dict[str, Any], port: int, out_dir: str) -> None:
    """One rank of a TP group: NCCL (gloo in smoke mode) all-reduces between the shards."""
    os.environ.update(NCCL_ENV)
    import torch
    import torch.distributed as dist

    smoke = cfg["smoke"]
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    if smoke:
        dev = torch.device("cpu")
        dist.init_process_group("gloo", rank=rank, world_size=world)
    else:
        torch.cuda.set_device(rank)
        dev = torch.device("cuda", rank)
        dist.init_process_group("nccl", rank=rank, world_size=world, device_id=dev)
    sweep = Sweep(smoke, cfg["reps"])
    shape = SHAPES[cfg["shape"]]

    def log(msg: str) -> None:
        if rank == 0:
            print(msg, flush=True)

    def allreduce(t: Any) -> None:
        dist.all_reduce(t)

    warm = torch.ones(1024, device=dev, dtype=torch.bfloat16)
    dist.all_reduce(warm)  # create the communicator before any graph capture
    result: dict[str, Any] = {"world": world, "runs": [], "errors": []}
    try:
        result["allreduce"] = allreduce_sweep(torch, dist, dev, sweep, world)
        if world == 2:
            sizes = [2**20, 2**24, 2**28] if not smoke else [2**10]
            result["nccl_sendrecv"] = nccl_sendrecv(torch, dist, dev, rank, sizes, sweep.reps)
        for dtype in cfg["dtypes"]:
            started = time.time()
            if time.time() - cfg["started"] > cfg["budget_s"]:
                result["errors"].append(f"skipped {dtype} tp{world} nccl: time budget")
                continue
            run = run_config(torch, dev, shape, cfg["layers"], world, dtype, sweep, allreduce, rank, log)
            run["wall_s"] = round(time.time() - started, 1)
            result["runs"].append(run)
    except Exception as exc:  # reported in the results, the other configurations still run
        result["errors"].append(f"world {world}: {type(exc).__name__}: {exc}"[:500])
    if rank == 0:
        with open(os.path.join(out_dir, f"world{world}.json"), "w", encoding="utf-8") as fh:
            json.dump(result, fh)
    dist.destroy_process_group()


def _ceilings(torch: Any, dev: Any, cuda: bool, fp8: bool) -> dict[str, float]:
    """The card's two ceilings: a large device-to-device copy (bytes read + written) and large GEMMs on random
    data (BF16, and FP8 through torch._scaled_mm where asked)."""
    timed = _timer(torch, cuda)
    n = 8192 if cuda else 256
    src = torch.empty((2 * 2**30) if cuda else 2**20, dtype=torch.uint8, device=dev).random_()
    dst = torch.empty_like(src)
    copy = timed(lambda: dst.copy_(src), 3, 10)
    out = {"copy_tbps": 2 * src.numel() / (copy["median_ms"] / 1e3) / 1e12}
    a_m = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    b_m = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    out["gemm_bf16_tflops"] = 2 * n**3 / (timed(lambda: a_m @ b_m, 3, 10)["median_ms"] / 1e3) / 1e12
    if fp8:
        a8, b8 = a_m.to(torch.float8_e4m3fn), b_m.to(torch.float8_e4m3fn)
        one = torch.ones((), device=dev)

        def gemm8() -> Any:
            return torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

        out["gemm_fp8_tflops"] = 2 * n**3 / (timed(gemm8, 3, 10)["median_ms"] / 1e3) / 1e12
    return out  # the buffers go with this frame


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    smoke = args.smoke
    cuda = torch.cuda.is_available() and not smoke
    if not cuda and not smoke:
        raise SystemExit("measure needs a CUDA GPU (or --smoke for the CPU dry run)")
    dev = torch.device("cuda", 0) if cuda else torch.device("cpu")
    torch.manual_seed(0)
    shape_key = "smoke" if smoke else args.shape
    shape = SHAPES[shape_key]
    sweep = Sweep(smoke, args.reps)
    gpus = torch.cuda.device_count() if cuda else 2  # smoke: two gloo ranks on the CPU
    cap = torch.cuda.get_device_capability(dev) if cuda else (9, 0)
    dtypes = [d for d in args.dtypes.split(",") if d == "bf16" or (d == "fp8" and cap >= (8, 9))]
    local_tps = [int(t) for t in args.local_tp.split(",") if t]
    started = time.time()
    results: dict[str, Any] = {
        "model": f"{args.shape} (shapes), {args.layers} of its layers, random weights",
        "shape": {**shape, "name": args.shape if not smoke else "smoke", "layers_measured": args.layers},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "command": " ".join(sys.argv),
        "env": {k: os.environ.get(k) for k in NCCL_ENV},
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpus": gpus,
        "runs": [],
        "errors": [],
    }
    if cuda:
        props = torch.cuda.get_device_properties(dev)
        results.update(
            gpu=torch.cuda.get_device_name(dev),
            gpu_memory_bytes=props.total_memory,
            sms=props.multi_processor_count,
            capability=list(cap),
            nccl=".".join(map(str, torch.cuda.nccl.version())) if gpus > 1 else None,
        )
    else:
        results.update(gpu="cpu (smoke)", sms=0)

    def save() -> None:
        results["wall_s"] = round(time.time() - started, 1)
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)

    def log(msg: str) -> None:
        print(msg, flush=True)

    # ---- ceilings -----------------------------------------------------------------------------------------
    ceilings = _ceilings(torch, dev, cuda, "fp8" in dtypes)
    results["ceilings"] = ceilings
    log(f"ceilings {ceilings}")
    save()

    # ---- one GPU: each TP rank's shard alone, BF16 and FP8 ------------------------------------------------
    for dtype in dtypes:
        for tp in local_tps:
            if time.time() - started > args.budget_s:
                results["errors"].append(f"skipped {dtype} tp{tp} local: time budget")
                continue
            t0 = time.time()
            try:
                run = run_config(torch, dev, shape, args.layers, tp, dtype, sweep, None, 0, log, not args.eager_prefill)
                run["wall_s"] = round(time.time() - t0, 1)
                results["runs"].append(run)
            except Exception as exc:  # keep the other configurations
                results["errors"].append(f"{dtype} tp{tp} local: {type(exc).__name__}: {exc}"[:500])
                log(results["errors"][-1])
            if cuda:
                torch.cuda.empty_cache()
            save()

    # ---- KV-block transfer: GPU 0 -> GPU 1 over NVLink, or a same-GPU loopback on one GPU ----------------
    pair = (torch.device("cuda", 0), torch.device("cuda", 1)) if cuda and gpus > 1 else (dev, dev)
    try:
        results["kv_transfer"] = kv_transfer(torch, pair[0], pair[1], shape, args.layers, 1, sweep)
        results["kv_transfer_note"] = "peer copy GPU0 -> GPU1" if pair[0] != pair[1] else "same-GPU loopback"
    except Exception as exc:
        results["errors"].append(f"kv transfer: {type(exc).__name__}: {exc}"[:500])
    save()

    # ---- several GPUs: TP groups with NCCL ----------------------------------------------------------------
    # a world of 1 (asked for explicitly) runs the NCCL code path on one GPU: init, collectives captured in graphs;
    # it measures no link
    worlds = [w for w in (1, 2, 4, 8) if w <= gpus and w in [int(x) for x in args.nccl_tp.split(",") if x]]
    if not worlds:
        results["multi_gpu"] = f"not run: {gpus} GPU(s) visible"
    for world in worlds:
        if time.time() - started > args.budget_s:
            results["errors"].append(f"skipped tp{world} nccl: time budget")
            continue
        import tempfile

        import torch.multiprocessing as mp

        cfg = {
            "smoke": smoke,
            "reps": args.reps,
            "shape": shape_key,
            "layers": args.layers,
            "dtypes": dtypes,
            "started": started,
            "budget_s": args.budget_s,
        }
        with tempfile.TemporaryDirectory() as tmp:
            try:
                mp.spawn(_worker, args=(world, cfg, 29500 + world, tmp), nprocs=world, join=True)
            except Exception as exc:
                results["errors"].append(f"tp{world} nccl: {type(exc).__name__}: {exc}"[:500])
            path = os.path.join(tmp, f"world{world}.json")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as fh:
                    part = json.load(fh)
                results["runs"] += part["runs"]
                results["errors"] += part["errors"]
                results.setdefault("allreduce", []).extend(part.get("allreduce", []))
                if "nccl_sendrecv" in part:
                    results["nccl_sendrecv"] = part["nccl_sendrecv"]
        save()
    return results


def fit(args: argparse.Namespace) -> None:
    from serving.planner.calibration import fit_report

    results = []
    for path in args.results:
        with open(path, encoding="utf-8") as fh:
            results.append(json.load(fh))
    sys.stdout.write(fit_report(results, gpu_key=args.gpu, markdown=args.markdown))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    m = sub.add_parser("measure", help="time decode, prefill, all-reduce and KV transfer on this host's GPUs")
    m.add_argument("--out", required=True, help="results JSON path (rewritten after every configuration)")
    m.add_argument("--shape", default="llama-3.3-70b", choices=[k for k in SHAPES if k != "smoke"])
    m.add_argument("--layers", type=int, default=8, help="transformer layers to build (of the model's shape)")
    m.add_argument("--dtypes", default="bf16,fp8", help="weight dtypes (fp8 only where the GPU has FP8 GEMMs)")
    m.add_argument("--local-tp", default="1,2,4", help="TP shards to time alone on one GPU")
    m.add_argument(
        "--nccl-tp", default="2,4,8", help="TP groups to run with NCCL when that many GPUs exist (1: code-path check)"
    )
    m.add_argument("--reps", type=int, default=20, help="timed repetitions per decode point")
    m.add_argument("--budget-s", type=float, default=420, help="skip configurations that start after this")
    m.add_argument("--eager-prefill", action="store_true", help="time prefill without CUDA graphs")
    m.add_argument("--smoke", action="store_true", help="tiny shape on the CPU with gloo (a dry run, no GPU)")
    f = sub.add_parser("fit", help="compare with the planner and fit the GPU's efficiency factors")
    f.add_argument("results", nargs="+", help="results JSON files from `measure`, fitted together")
    f.add_argument("--gpu", default="h200-sxm-141gb", help="GPU catalog key to predict for")
    f.add_argument("--markdown", action="store_true", help="print the docs/calibration.md tables")
    args = parser.parse_args()
    if args.verb == "measure":
        results = measure(args)
        print(f"wrote {args.out} in {results.get('wall_s')} s; errors: {results['errors']}")
    else:
        fit(args)


if __name__ == "__main__":
    main()
