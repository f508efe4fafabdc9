"""GPU burn-in: proves a node's GPUs before it serves.

Measures, on every GPU at once (one process per GPU):
  * BF16 GEMM TFLOP/s, sustained for --gemm-seconds, after a correctness check against a float64 product;
  * HBM bandwidth of a large device-to-device copy (bytes read + bytes written), checked for exactness;
  * with 2+ GPUs, NCCL all-reduce bus bandwidth (nccl-tests definition: algbw x 2(n-1)/n), checked for the
    exact sum;
and compares each with a pass line stated as a fraction of the datasheet peak (`--thresholds FILE`, rendered from
gpu_nodepools/thresholds.py; or `--gpu KEY` when run from the repository). Writes a JSON report; the exit code
says the verdict: 0 passed, 1 failed, 2 could not run (no GPU, bad input, a crash), 3 GPUs busy (not run).

With --label-node it writes the verdict as a node label through the Kubernetes API (in-cluster ServiceAccount),
which is how the acceptance DaemonSet gates serving.

Self-contained on purpose (stdlib + torch): the stack ships this file in a ConfigMap into the NGC PyTorch image.
NVLink multicast (NVLS) stays off: NCCL_NVLS_ENABLE=0 is forced, with its PyTorch and NVSHMEM siblings.

Run: python3 gpu_nodepools/burnin.py --thresholds t.json --report out.json   (spawns one process per GPU)
 or: torchrun --nproc-per-node 8 gpu_nodepools/burnin.py --thresholds t.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

SCHEMA = "inference-ra.burnin/v1"
DEFAULT_LABEL = "inference-ra.nvidia.com/acceptance"
# NVLink multicast can take a shared host's GPUs out of service; never let NCCL, PyTorch or NVSHMEM use it.
NO_MULTICAST_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}
GEMM_MAX_REL_ERR = 1e-2  # BF16 operands, FP32 accumulate: ~1e-3 expected (rounding of the BF16 output)
GIB = 2**30
SMI_FIELDS = "index,name,driver_version,pci.bus_id,persistence_mode"
MIB = 2**20

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR, EXIT_BUSY = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------------------------------
# Pure logic: thresholds, checks, verdict (unit-tested without a GPU)
# ---------------------------------------------------------------------------------------------------------------


def load_thresholds(path: str | None, gpu_key: str | None) -> dict[str, Any]:
    if path:
        with open(path) as f:
            doc: dict[str, Any] = json.load(f)
    elif gpu_key:
        try:
            from gpu_nodepools.thresholds import thresholds_document
        except ImportError as exc:
            raise SystemExit(f"--gpu needs the repository on PYTHONPATH ({exc}); or pass --thresholds FILE") from None
        doc = thresholds_document(gpu_key)
    else:
        raise SystemExit("give --thresholds FILE or --gpu KEY (a key of the GPU catalog)")
    for metric in ("gemm_bf16_tflops", "hbm_copy_tbps", "allreduce_busbw_gbps"):
        if metric not in doc.get("metrics", {}) or "min" not in doc["metrics"][metric]:
            raise SystemExit(f"thresholds: metrics.{metric}.min is missing")
    return doc


def _check(name: str, status: str, detail: str, value: Any = None, minimum: Any = None, unit: str = "") -> dict:
    out: dict[str, Any] = {"name": name, "status": status, "detail": detail}
    if value is not None:
        out["value"] = value
    if minimum is not None:
        out["min"] = minimum
    if unit:
        out["unit"] = unit
    return out


def _at_least(name: str, value: float, metric: dict[str, Any]) -> dict:
    ok = value >= metric["min"]
    frac = value / metric["peak"] if metric.get("peak") else 0.0
    detail = (
        f"{value:.1f} {metric['unit']} = {frac:.0%} of peak {metric['peak']:g}; "
        f"pass line {metric['fraction']:.0%} = {metric['min']:g}"
    )
    return _check(name, "pass" if ok else "fail", detail, round(value, 2), metric["min"], metric["unit"])


def evaluate(results: dict[str, Any], thresholds: dict[str, Any], expect_gpus: int | None) -> list[dict]:
    """Every check of one burn-in, each `pass`, `fail` or `skip` (with the reason)."""
    metrics = thresholds["metrics"]
    gpus = results["gpus"]
    checks = []
    if expect_gpus is None:
        checks.append(_check("gpu-count", "skip", f"{len(gpus)} GPUs seen; no expected count given"))
    else:
        ok = len(gpus) == expect_gpus
        checks.append(
            _check("gpu-count", "pass" if ok else "fail", f"{len(gpus)} GPUs seen, {expect_gpus} expected", len(gpus))
        )
    names = thresholds.get("smiNames") or []
    for g in gpus:
        i = g["index"]
        if names:
            ok = g["name"] in names
            checks.append(
                _check(f"gpu{i}-model", "pass" if ok else "fail", f"{g['name']!r}; expected one of {names}", g["name"])
            )
        err = g["gemm"]["relErr"]
        ok = err == err and err <= GEMM_MAX_REL_ERR  # NaN fails
        checks.append(_check(f"gpu{i}-gemm-correct", "pass" if ok else "fail", f"rel. error {err:.2e} vs float64", err))
        checks.append(_at_least(f"gpu{i}-gemm-bf16", g["gemm"]["medianTflops"], metrics["gemm_bf16_tflops"]))
        ok = bool(g["hbm"]["exact"])
        checks.append(_check(f"gpu{i}-hbm-copy-exact", "pass" if ok else "fail", "copy equals its source"))
        checks.append(_at_least(f"gpu{i}-hbm-copy", g["hbm"]["medianTBps"], metrics["hbm_copy_tbps"]))
    ar = results.get("allreduce")
    if not ar:
        checks.append(_check("allreduce-busbw", "skip", f"{len(gpus)} GPU: no peer to all-reduce with"))
    else:
        ok = bool(ar["exact"])
        checks.append(
            _check("allreduce-correct", "pass" if ok else "fail", f"sum over {ar['ranks']} ranks exact: {ok}")
        )
        largest = max(ar["sizes"], key=lambda s: s["bytes"])
        check = _at_least("allreduce-busbw", largest["busbwGBps"], metrics["allreduce_busbw_gbps"])
        check["detail"] += f" ({largest['bytes'] // MIB} MiB, {ar['ranks']} GPUs)"
        checks.append(check)
    return checks


def verdict(checks: list[dict]) -> str:
    if any(c["status"] == "fail" for c in checks):
        return "failed"
    if not any(c["status"] == "pass" for c in checks):
        return "failed"  # nothing proven is not a pass
    return "passed"


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The compact figures written to the node annotation (labels hold only the verdict)."""
    gpus = report.get("results", {}).get("gpus", [])
    ar = report.get("results", {}).get("allreduce")
    out: dict[str, Any] = {"at": report["date"], "verdict": report["verdict"], "gpus": len(gpus)}
    if gpus:
        out["minGemmTflops"] = round(min(g["gemm"]["medianTflops"] for g in gpus), 1)
        out["minHbmTBps"] = round(min(g["hbm"]["medianTBps"] for g in gpus), 3)
    if ar:
        out["busbwGBps"] = round(max(ar["sizes"], key=lambda s: s["bytes"])["busbwGBps"], 1)
    out["failed"] = [c["name"] for c in report.get("checks", []) if c["status"] == "fail"]
    return out


def render_table(report: dict[str, Any]) -> str:
    lines = [f"burn-in on {report['host']['hostname']}: {report['verdict'].upper()}"]
    for c in report.get("checks", []):
        lines.append(f"  {c['status']:<4}  {c['name']:<22} {c['detail']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Measurements (need torch and CUDA; imported lazily so the logic above runs anywhere)
# ---------------------------------------------------------------------------------------------------------------


def _median_event_ms(torch: Any, fn: Any, iters: int) -> list[float]:
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return times


def gemm_rel_err(torch: Any, k: int) -> float:
    """BF16 product vs float64 on fresh random inputs; the output is poisoned first so unwritten parts show."""
    x = torch.randn(k, k, device="cuda", dtype=torch.bfloat16)
    y = torch.randn(k, k, device="cuda", dtype=torch.bfloat16)
    out = torch.full((k, k), float("nan"), device="cuda", dtype=torch.bfloat16)
    torch.matmul(x, y, out=out)
    ref = x.double() @ y.double()
    return float(torch.linalg.norm(out.double() - ref) / torch.linalg.norm(ref))


def measure_gemm(torch: Any, n: int, seconds: float, batch: int = 20) -> dict[str, Any]:
    torch.backends.cuda.matmul.allow_tf32 = False
    # correctness first, on fresh random inputs, against float64
    rel_err = gemm_rel_err(torch, 2048)
    # sustained throughput on random data, in timed batches, for `seconds`
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(5):
        torch.matmul(a, b, out=c)
    torch.cuda.synchronize()
    flops = 2.0 * n**3 * batch
    rates: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or len(rates) < 3:
        ms = _median_event_ms(torch, lambda: [torch.matmul(a, b, out=c) for _ in range(batch)], 1)[0]
        rates.append(flops / (ms / 1e3) / 1e12)
    return {
        "n": n,
        "relErr": rel_err,
        "batches": len(rates),
        "seconds": seconds,
        "medianTflops": statistics.median(rates),
        "minTflops": min(rates),
        "maxTflops": max(rates),
    }


def measure_copy(torch: Any, gib: float, iters: int) -> dict[str, Any]:
    nbytes = int(gib * GIB)
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda").random_(0, 256)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    times = _median_event_ms(torch, lambda: dst.copy_(src), iters)
    exact = bool(torch.equal(dst, src))
    ms = statistics.median(times)
    return {
        "bytes": nbytes,
        "iters": iters,
        "medianMs": ms,
        "medianTBps": 2 * nbytes / (ms / 1e3) / 1e12,
        "maxTBps": 2 * nbytes / (min(times) / 1e3) / 1e12,
        "exact": exact,
    }


def measure_allreduce(torch: Any, dist: Any, rank: int, world: int, sizes_mib: list[int], iters: int) -> dict:
    # exactness: every rank contributes rank+1; the sum is world(world+1)/2 everywhere (exact in float32)
    probe = torch.full((64 * MIB // 4,), float(rank + 1), device="cuda", dtype=torch.float32)
    dist.all_reduce(probe)
    exact = bool(torch.all(probe == world * (world + 1) / 2))
    flag = torch.tensor([1 if exact else 0], device="cuda")
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    del probe
    sizes = []
    for mib in sizes_mib:
        t = torch.randn(mib * MIB // 4, device="cuda", dtype=torch.float32)
        for _ in range(5):
            dist.all_reduce(t)
        torch.cuda.synchronize()
        dist.barrier()
        ms = torch.tensor([statistics.median(_median_event_ms(torch, lambda t=t: dist.all_reduce(t), iters))])
        ms = ms.cuda()
        dist.all_reduce(ms, op=dist.ReduceOp.MAX)  # the slowest rank bounds the collective
        sec = float(ms.item()) / 1e3
        nbytes = mib * MIB
        algbw = nbytes / sec / 1e9
        sizes.append(
            {
                "bytes": nbytes,
                "medianMs": sec * 1e3,
                "algbwGBps": algbw,
                "busbwGBps": algbw * 2 * (world - 1) / world,
            }
        )
        del t
    torch.cuda.empty_cache()
    return {"ranks": world, "iters": iters, "exact": bool(flag.item()), "dtype": "float32", "sizes": sizes}


def _gpu_result(torch: Any, index: int, args: argparse.Namespace) -> dict[str, Any]:
    props = torch.cuda.get_device_properties(index)
    free, total = torch.cuda.mem_get_info(index)
    used_gib = (total - free) / GIB
    out: dict[str, Any] = {
        "index": index,
        "name": props.name,
        "uuid": str(getattr(props, "uuid", "")),
        "memoryGiB": round(total / GIB, 1),
        "sms": props.multi_processor_count,
        "usedGiBBefore": round(used_gib, 2),
    }
    if used_gib > args.busy_gib:
        out["busy"] = True
        return out
    out["gemm"] = measure_gemm(torch, args.gemm_size, args.gemm_seconds)
    torch.cuda.empty_cache()
    out["hbm"] = measure_copy(torch, args.copy_gib, args.copy_iters)
    torch.cuda.empty_cache()
    return out


def worker(local_rank: int, world: int, args: argparse.Namespace, result_path: str | None) -> None:
    """One process per GPU: measure this GPU, then (world > 1) all-reduce with the others; rank 0 writes results."""
    import torch

    os.environ.update(NO_MULTICAST_ENV)
    torch.cuda.set_device(local_rank)
    rank = int(os.environ.get("RANK", local_rank))
    if world > 1:
        import torch.distributed as dist

        device = torch.device("cuda", local_rank)
        dist.init_process_group("nccl", rank=rank, world_size=world, timeout=dt.timedelta(minutes=10), device_id=device)
        gpu = _gpu_result(torch, local_rank, args)
        gpu["index"] = rank
        busy = torch.tensor([1 if gpu.get("busy") else 0], device="cuda")
        dist.all_reduce(busy, op=dist.ReduceOp.MAX)
        allreduce = None
        if not busy.item():
            dist.barrier()
            allreduce = measure_allreduce(torch, dist, rank, world, args.allreduce_mib, args.allreduce_iters)
        gathered: list[Any] = [None] * world
        dist.all_gather_object(gathered, gpu)
        dist.destroy_process_group()
        results = {"gpus": sorted(gathered, key=lambda g: g["index"]), "allreduce": allreduce}
    else:
        rank = 0
        results = {"gpus": [_gpu_result(torch, local_rank, args)], "allreduce": None}
    if rank == 0 and result_path:
        with open(result_path, "w") as f:
            json.dump(results, f)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _host_info(torch: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "nccl": ".".join(map(str, torch.cuda.nccl.version())) if torch.cuda.is_available() else None,
        "env": {k: os.environ.get(k) for k in NO_MULTICAST_ENV},
    }
    try:
        smi = subprocess.run(
            ["nvidia-smi", f"--query-gpu={SMI_FIELDS}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        info["nvidiaSmi"] = [line.strip() for line in smi.splitlines() if line.strip()]
        info["driver"] = smi.split(",")[2].strip() if smi else None
    except (OSError, subprocess.SubprocessError) as exc:
        info["nvidiaSmi"] = f"unavailable: {exc}"
    return info


def run_burnin(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    os.environ.update(NO_MULTICAST_ENV)
    if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        raise RuntimeError("no CUDA GPU visible to PyTorch (is the NVIDIA runtime/NVIDIA_VISIBLE_DEVICES set?)")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "results.json")
        if "WORLD_SIZE" in os.environ:  # torchrun: this process is one rank
            world = int(os.environ["WORLD_SIZE"])
            worker(int(os.environ.get("LOCAL_RANK", 0)), world, args, path)
            if int(os.environ.get("RANK", 0)) != 0:
                return {}
        else:
            world = 1 if args.single_gpu else torch.cuda.device_count()
            if world > 1:
                import torch.multiprocessing as mp

                os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
                os.environ["MASTER_PORT"] = str(_free_port())
                mp.spawn(worker, args=(world, args, path), nprocs=world, join=True)
            else:
                worker(0, 1, args, path)
        with open(path) as f:
            results: dict[str, Any] = json.load(f)
    return {"results": results, "host": _host_info(torch), "world": world}


def label_node(node: str, key: str, value: str, annotation: dict[str, Any]) -> None:
    """Merge-patch the node's label (and a summary annotation) with the pod's ServiceAccount token."""
    import ssl
    import urllib.request

    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = f"[{host}]"
    with open(f"{sa}/token") as f:
        token = f.read().strip()
    body = {
        "metadata": {
            "labels": {key: value},
            "annotations": {f"{key}-report": json.dumps(annotation, sort_keys=True, separators=(",", ":"))},
        }
    }
    req = urllib.request.Request(
        f"https://{host}:{port}/api/v1/nodes/{node}",
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={"Content-Type": "application/merge-patch+json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=f"{sa}/ca.crt"), timeout=30) as r:
        if r.status >= 300:
            raise RuntimeError(f"patching node {node}: HTTP {r.status}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--thresholds", help="thresholds JSON (gpu_nodepools/thresholds.py: thresholds_document)")
    p.add_argument("--gpu", help="catalog GPU key; reads thresholds from the repository instead of --thresholds")
    p.add_argument("--expect-gpus", type=int, help="GPUs the node must show (default: the thresholds' expectGpus)")
    p.add_argument("--report", help="write the JSON report here (it is also printed)")
    p.add_argument("--gemm-size", type=int, default=8192, help="square BF16 GEMM size (default 8192)")
    p.add_argument("--gemm-seconds", type=float, default=20.0, help="sustained GEMM time per GPU (default 20)")
    p.add_argument("--copy-gib", type=float, default=4.0, help="device-to-device copy size in GiB (default 4)")
    p.add_argument("--copy-iters", type=int, default=30)
    p.add_argument(
        "--allreduce-mib",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[16, 256, 1024],
        help="all-reduce sizes in MiB, comma-separated; the largest is compared (default 16,256,1024)",
    )
    p.add_argument("--allreduce-iters", type=int, default=20)
    p.add_argument("--busy-gib", type=float, default=2.0, help="GPU memory in use above which a GPU counts as busy")
    p.add_argument("--single-gpu", action="store_true", help="measure GPU 0 only, no NCCL")
    p.add_argument("--label-node", help="write the verdict as a label of this node (in-cluster)")
    p.add_argument("--label-key", default=DEFAULT_LABEL, help=f"node label key (default {DEFAULT_LABEL})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    thresholds = load_thresholds(args.thresholds, args.gpu)
    expect = args.expect_gpus if args.expect_gpus is not None else thresholds.get("expectGpus")
    started = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "thresholds": thresholds,
        "expectGpus": expect,
    }
    try:
        measured = run_burnin(args)
    except Exception as exc:  # report what broke; a crash is not a pass
        report.update(verdict="error", error=f"{type(exc).__name__}: {exc}", host={"hostname": socket.gethostname()})
        measured = None
    if measured == {}:
        return EXIT_PASSED  # a non-zero torchrun rank; rank 0 reports
    if measured is not None:
        report.update(measured)
        if any(g.get("busy") for g in measured["results"]["gpus"]):
            report["verdict"] = "busy"
            report["error"] = f"GPU memory in use above {args.busy_gib} GiB before the burn-in: not run"
        else:
            report["checks"] = evaluate(measured["results"], thresholds, expect)
            report["verdict"] = verdict(report["checks"])
    report["seconds"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    print(text)
    print(render_table(report) if "checks" in report else f"burn-in: {report['verdict']}: {report.get('error')}")
    if args.label_node and report["verdict"] in ("passed", "failed"):
        label_node(args.label_node, args.label_key, report["verdict"], summary(report))
    return {"passed": EXIT_PASSED, "failed": EXIT_FAILED, "busy": EXIT_BUSY}.get(report["verdict"], EXIT_ERROR)


if __name__ == "__main__":
    sys.exit(main())
