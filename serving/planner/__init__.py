"""Capacity planner: model card + SLO + traffic -> parallelism, replicas, GPUs, nodes, KV tiers and cost.

Pure functions, no Pulumi: `model` (memory and the calibrated roofline, `Parallel` shapes: TP, PP, DP, EP),
`efficiency` (each GPU's fitted factors), `target` (workload, target, deployment), `search` (queueing, evaluation and
the fewest-GPU search), `summary` (the reported figures), `sizing` (`sizing: auto` in the spec), `calibration`
(fitting the per-GPU efficiency factors, `efficiency`, to bench/calibrate.py measurements). See docs/planner.md.
"""

from serving.planner.model import CALIBRATED, Efficiency, Parallel
from serving.planner.search import (
    Deployment,
    Estimate,
    Plan,
    PlannerInputError,
    Target,
    Workload,
    evaluate,
    nodes_for,
    plan,
)
from serving.planner.summary import summarize, summarize_estimate

__all__ = [
    "CALIBRATED",
    "Deployment",
    "Efficiency",
    "Estimate",
    "Parallel",
    "Plan",
    "PlannerInputError",
    "Target",
    "Workload",
    "evaluate",
    "nodes_for",
    "plan",
    "summarize",
    "summarize_estimate",
]
