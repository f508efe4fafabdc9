"""`sizing: auto` fills parallelism and replicas from the planner before the rules run."""

from __future__ import annotations

from components.loader import SpecError
from serving.planner.search import plan
from serving.planner.spec import target_for, workload_for
from tests.planner.helpers import config, spec


def auto_dev(**model_changes: object) -> dict:  # type: ignore[type-arg]
    cfg = config("dev")
    model = cfg["inference-ra:serving"]["models"][0]
    model.pop("worker")
    model.update({"sizing": "auto", "traffic": {"rps": 6}, **model_changes})
    return cfg


def test_auto_sizing_takes_the_planner_deployment() -> None:
    s = spec(auto_dev())
    model = s.serving.models[0]
    expected = plan(target_for(s, model), workload_for(s, model), ("aggregated",)).estimate  # type: ignore[arg-type]
    assert expected is not None and model.worker is not None
    assert (model.worker.tensor_parallel, model.worker.replicas) == (
        expected.deployment.tp,
        expected.deployment.replicas,
    )
    assert model.sizing == "auto" and model.worker.multinode is False


def test_auto_sizing_keeps_worker_extras() -> None:
    cfg = auto_dev(worker={"tensorParallel": 8, "replicas": 9, "extraArgs": ["--enable-prefix-caching"]})
    w = spec(cfg).serving.models[0].worker
    assert w is not None and w.extra_args == ["--enable-prefix-caching"] and w.replicas != 9


def test_auto_sizing_more_traffic_more_replicas() -> None:
    low = spec(auto_dev(traffic={"rps": 1})).serving.models[0].worker
    high = spec(auto_dev(traffic={"rps": 20})).serving.models[0].worker
    assert low is not None and high is not None
    assert high.gpus_per_replica * high.replicas > low.gpus_per_replica * low.replicas


def test_rejects_auto_sizing_that_no_deployment_meets() -> None:
    cfg = auto_dev(slo={"ttftMs": 300, "itlMs": 1, "isl": 2048, "osl": 256})
    try:
        spec(cfg)
    except SpecError as exc:
        rendered = [p.render() for p in exc.problems]
    else:
        raise AssertionError("expected a SpecError")
    assert any(r.startswith("inference-ra:serving.models[0].sizing: the planner found no aggregated") for r in rendered)


def test_rejects_auto_sizing_without_traffic() -> None:
    cfg = auto_dev()
    del cfg["inference-ra:serving"]["models"][0]["traffic"]
    try:
        spec(cfg)
    except SpecError as exc:
        assert any("sizing auto needs `slo` and `traffic`" in p.render() for p in exc.problems)
    else:
        raise AssertionError("expected a SpecError")
