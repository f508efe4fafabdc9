"""Rules of the acceptance layer: a gate needs a burn-in, and a burn-in needs thresholds for its GPU."""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog import GPUS
from components.rules import Problem, rule
from components.spec import StackSpec


@rule("acceptance-gate")
def acceptance_gate(spec: StackSpec) -> Iterator[Problem]:
    for i, pool in enumerate(spec.gpu_pools):
        if pool.acceptance.gate and not pool.acceptance.enabled:
            yield Problem(
                f"gpuPools[{i}].acceptance.gate",
                "gates serving on a burn-in that is disabled, so serving on this pool could never start",
                True,
                "set acceptance.enabled: true, or gate: false",
            )


@rule("acceptance-thresholds")
def acceptance_thresholds(spec: StackSpec) -> Iterator[Problem]:
    from gpu_nodepools.thresholds import thresholds_for  # imported late: the rules package loads first

    for i, pool in enumerate(spec.gpu_pools):
        if not pool.acceptance.enabled or pool.gpu not in GPUS:
            continue  # unknown GPUs are reported by pool-catalog
        try:
            thresholds_for(pool.gpu)
        except KeyError as exc:
            yield Problem(
                f"gpuPools[{i}].gpu",
                f"has no burn-in thresholds: {exc.args[0]}",
                pool.gpu,
                "add the GPU to gpu_nodepools/thresholds.py or set acceptance.enabled: false",
            )
