"""Typed hand-offs between layers: every outputs field has a reader, layers read only earlier layers' outputs, each
layer returns its own outputs, and the composition enforces it at run time (components/outputs.py, context.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components import platform
from components.context import LayerOrderError, PlatformContext
from components.loader import read_stack_file
from components.outputs import FabricOutputs
from stacks import handoffs
from stacks.docgen import PLATFORM, README, generated
from stacks.engine import SynthError, synth

OUTPUTS = Path(handoffs.ROOT, "components", "outputs.py")
SYNTHETIC = '    LAYER: ClassVar[str] = "fabric"\n'


@pytest.fixture(scope="module")
def h() -> handoffs.Handoffs:
    return handoffs.analyze()


def with_synthetic_field() -> str:
    source = OUTPUTS.read_text(encoding="utf-8")
    assert source.count(SYNTHETIC) == 1
    return source.replace(SYNTHETIC, SYNTHETIC + '    synthetic_unread: str = ""\n')


def test_every_outputs_field_is_read(h: handoffs.Handoffs) -> None:
    unread = set(handoffs.unread_fields(h))
    assert unread - set(handoffs.UNREAD_ALLOWED) == set(), "produced, read by no module: add its reader or drop it"
    # the allow-list holds only fields that exist and are still unread: remove an entry once its reader lands
    assert set(handoffs.UNREAD_ALLOWED) <= set(handoffs.all_fields(h))
    assert set(handoffs.UNREAD_ALLOWED) <= unread


def test_the_unread_check_fails_on_a_synthetic_unread_field() -> None:
    got = handoffs.analyze(outputs_source=with_synthetic_field())
    assert "FabricOutputs.synthetic_unread" in handoffs.unread_fields(got)


def test_a_read_through_the_context_counts_and_a_same_named_attribute_does_not() -> None:
    untyped = "def f(x):\n    return x.synthetic_unread, x.synthetic_profile\n"
    typed = (
        "from components.context import PlatformContext\n\n\n"
        "def f(ctx: PlatformContext) -> object:\n"
        "    profiles = ctx.fabric.profiles\n"
        "    for name, p in profiles.items():\n"
        "        print(name, p.synthetic_profile)\n"
        "    return ctx.fabric.synthetic_unread\n"
    )
    anchor = "    nixl_needs_privileged: bool = False\n"  # a nested type's field: FabricProfile
    source = with_synthetic_field()
    assert source.count(anchor) == 1
    source = source.replace(anchor, anchor + '    synthetic_profile: str = ""\n')
    by_name = handoffs.unread_fields(handoffs.analyze(outputs_source=source, extra={"serving.synthetic": untyped}))
    assert {"FabricOutputs.synthetic_unread", "FabricProfile.synthetic_profile"} <= set(by_name)
    read = handoffs.unread_fields(handoffs.analyze(outputs_source=source, extra={"serving.synthetic": typed}))
    assert "FabricOutputs.synthetic_unread" not in read and "FabricProfile.synthetic_profile" not in read


def test_each_layer_returns_its_own_outputs(h: handoffs.Handoffs) -> None:
    assert handoffs.producer_problems(h) == []
    assert [name for name, _, _ in h.layers] == [name for name, _ in platform.LAYERS]


def test_layers_read_only_outputs_of_earlier_layers(h: handoffs.Handoffs) -> None:
    assert handoffs.order_problems(h) == []
    # and they do read across layers (the analysis sees through helpers and the context's own methods)
    assert ("FabricProfile", "env") in h.layer_reads["serving"]
    assert ("ClusterOutputs", "k8s_provider") in h.layer_reads["storage"]


def test_the_order_check_fails_when_a_layer_runs_before_its_producer() -> None:
    source = Path(handoffs.ROOT, "components", "platform.py").read_text(encoding="utf-8")
    fabric = '    ("fabric", "networking.fabric:build"),\n'
    serving = '    ("serving", "serving.layer:build"),\n'
    swapped = source.replace(fabric, "").replace(serving, serving + fabric)
    got = handoffs.analyze(extra={"components.platform": swapped})
    assert "layer `serving` reads FabricOutputs of `fabric`, which does not run before it" in handoffs.order_problems(
        got
    )


def test_a_layer_run_before_its_producer_stops_the_run_naming_that_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    layers = [entry for entry in platform.LAYERS if entry[0] != "fabric"]
    at = next(i for i, (name, _) in enumerate(layers) if name == "serving")
    layers.insert(at + 1, ("fabric", "networking.fabric:build"))
    monkeypatch.setattr(platform, "LAYERS", tuple(layers))
    with pytest.raises(SynthError, match=r"FabricOutputs read before the `fabric` layer produced it"):
        synth(read_stack_file("dev"))


def test_a_layer_returning_another_layers_outputs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    layers = [(n, "tests.spine.failing_layer:foreign_outputs" if n == "network" else t) for n, t in platform.LAYERS]
    monkeypatch.setattr(platform, "LAYERS", tuple(layers))
    with pytest.raises(SynthError, match=r"layer `network` returned FabricOutputs, which only `fabric` produces"):
        synth(read_stack_file("dev"))


def test_outputs_are_provided_once_and_read_only_after() -> None:
    ctx = PlatformContext(stack="t", spec=None, region=None)  # type: ignore[arg-type]
    with pytest.raises(LayerOrderError, match=r"before the `fabric` layer"):
        _ = ctx.fabric
    ctx.provide(FabricOutputs())
    assert ctx.fabric == FabricOutputs()
    with pytest.raises(LayerOrderError, match=r"FabricOutputs provided twice"):
        ctx.provide(FabricOutputs())


@pytest.mark.parametrize("path", [README, PLATFORM], ids=["README.md", "components/platform.py"])
def test_generated_layer_table_is_current(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == generated()[path], "stale: run `make docs`"
