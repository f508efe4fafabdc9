"""`sizing: auto`: fill a model's parallelism and replicas from the planner, before the spec rules run.

Called by components/loader.py right after the spec validates and before `check_spec`, so every rule
(parallelism-fits-node, weights-fit-hbm, kv-cache-tiers, autoscaling-fits-pool ...) checks what the planner chose.
A pure function: spec in, spec out (frozen models are copied), plus a Problem for each model it cannot size.
"""

from __future__ import annotations

from components.rules import Problem
from components.spec import StackSpec
from components.spec.serving import ModelSpec, WorkerSpec
from serving.planner.model import Parallel
from serving.planner.search import Deployment, plan
from serving.planner.spec import target_for, workload_for


def _worker(existing: WorkerSpec | None, p: Parallel, replicas: int, gpus_per_node: int) -> WorkerSpec:
    base = existing or WorkerSpec()
    return base.model_copy(
        update={
            "tensor_parallel": p.tp,
            "pipeline_parallel": p.pp,
            "data_parallel": p.dp,
            "expert_parallel": p.ep,
            "replicas": replicas,
            "multinode": p.gpus > gpus_per_node,
        }
    )


def sized_model(model: ModelSpec, d: Deployment, gpus_per_node: int) -> ModelSpec:
    if d.mode == "aggregated":
        return model.model_copy(update={"worker": _worker(model.worker, d.par, d.replicas, gpus_per_node)})
    return model.model_copy(
        update={
            "prefill": _worker(model.prefill, d.prefill_par, d.prefill_replicas, gpus_per_node),
            "decode": _worker(model.decode, d.par, d.replicas, gpus_per_node),
        }
    )


def apply_auto_sizing(spec: StackSpec) -> tuple[StackSpec, list[Problem]]:
    """The spec with every `sizing: auto` model sized by the planner, in the model's own `mode`.

    Models lacking slo/traffic or naming unknown catalog entries are left as they are: the spine rules
    (model-references, pool-catalog) report those. A model no deployment can serve yields a Problem.
    """
    problems: list[Problem] = []
    models = list(spec.serving.models)
    changed = False
    for i, model in enumerate(models):
        if model.sizing != "auto":
            continue
        target, workload = target_for(spec, model), workload_for(spec, model)
        if target is None or workload is None:
            continue
        result = plan(target, workload, (model.mode,))
        if result.estimate is None:
            problems.append(
                Problem(
                    f"serving.models[{i}].sizing",
                    f"the planner found no {model.mode} deployment on pool '{model.pool}': {result.explanation}",
                    "auto",
                    "relax slo, lower traffic, quantize (weightsDtype fp8) or use a larger GPU",
                )
            )
            continue
        models[i] = sized_model(model, result.estimate.deployment, target.gpus_per_node)
        changed = True
    if not changed:
        return spec, problems
    serving = spec.serving.model_copy(update={"models": models})
    return spec.model_copy(update={"serving": serving}), problems
