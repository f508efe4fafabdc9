"""Rules of the performance layer: price overrides name real catalog entries, benchmarks and optimization are
consistent with the model they act on."""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog import GPUS, NODE_TYPES
from components.catalog.prices import STORAGE_PRICES
from components.rules import Problem, one_of, rule
from components.spec import StackSpec


@rule("price-overrides")
def price_overrides(spec: StackSpec) -> Iterator[Problem]:
    prices = spec.policy.prices
    for key, usd in sorted(prices.node_hour_usd.items()):
        at = f"policy.prices.nodeHourUsd.{key}"
        if key not in NODE_TYPES:
            yield Problem(at, "names no node type of the catalog", key, one_of(key, list(NODE_TYPES)))
        if usd < 0:
            yield Problem(at, "a price cannot be negative", usd, "set a price >= 0")
    for key, usd in sorted(prices.storage_gb_month_usd.items()):
        at = f"policy.prices.storageGbMonthUsd.{key}"
        if key not in STORAGE_PRICES:
            yield Problem(at, "names no storage price of the catalog", key, one_of(key, list(STORAGE_PRICES)))
        if usd < 0:
            yield Problem(at, "a price cannot be negative", usd, "set a price >= 0")


@rule("optimization-fits-model")
def optimization_fits_model(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        at = f"serving.models[{i}].optimization"
        q = m.optimization.quantize
        if m.optimization.trtllm_engine and m.engine != "trtllm":
            yield Problem(
                f"{at}.trtllmEngine",
                f"a TensorRT-LLM engine is only used by engine trtllm, not {m.engine}",
                True,
                "set engine: trtllm or drop trtllmEngine",
            )
        if q is None:
            continue
        if m.weights_dtype != q.format:
            yield Problem(
                f"serving.models[{i}].weightsDtype",
                f"the model is quantized to {q.format} but served as {m.weights_dtype}, which the planner, the HBM "
                "rules and the cost estimates would then use",
                m.weights_dtype,
                f"set weightsDtype: {q.format}",
            )
        pool = spec.pool(m.pool)
        gpu = GPUS.get(pool.gpu) if pool else None
        if gpu is not None and q.format == "nvfp4" and gpu.fp4_tflops == 0:
            yield Problem(
                f"{at}.quantize.format",
                f"NVFP4 needs Blackwell FP4 tensor cores; pool '{m.pool}' has {gpu.name}",
                q.format,
                "use fp8 on Hopper, or a Blackwell pool",
            )
        if gpu is not None and q.format == "fp8" and gpu.fp8_tflops == 0:
            yield Problem(f"{at}.quantize.format", f"{gpu.name} has no FP8 tensor cores", q.format, "serve bf16")


@rule("benchmark-needs-slo")
def benchmark_needs_slo(spec: StackSpec) -> Iterator[Problem]:
    for i, m in enumerate(spec.serving.models):
        if m.benchmark.enabled and m.slo is None:
            yield Problem(
                f"serving.models[{i}].benchmark.enabled",
                "a benchmark scores goodput against the model's SLO and uses its isl/osl, but the model has no slo",
                True,
                "add slo: {ttftMs, itlMs, isl, osl} or disable the benchmark",
            )
