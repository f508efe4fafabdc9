"""Layer stacks: one spec deployed as three Pulumi stacks — infra, platform, serving — wired by StackReferences.

A layer stack's file `stacks/Pulumi.<base>-<layer>.yaml` sets two keys and nothing of the spec:

    inference-ra:layer: infra | platform | serving
    inference-ra:specStack: <base>          # the spec is read from stacks/Pulumi.<base>.yaml (one spec)

plus the secrets that stack's layers need (`pulumi config set --secret ...` on the layer stack). Without `layer`
the program is the one-stack program of before (same plan, byte for byte).

A layer stack runs only its program layers (components/platform.py LAYERS, assigned by `LAYER_STACK`). What its
layers read from the layers of an earlier stack (the contract: stacks/layers.py `crossings()`, docs/layers.md) is
rebuilt by the producing layer's `from_stack(ctx, parent, refs)` function:

- value fields (plain data: fabric profiles, KV disk classes, ComputeDomain names, gate selectors, the Prometheus
  URL) are recomputed from the one spec by the same pure functions the producer uses. A StackReference output is a
  `pulumi.Output` (known only once the engine has read the other stack's state), and these values decide at
  program time which objects exist, so they cannot come over the reference; the producer still exports them
  (`<layer>.<field>`), so `pulumi stack output` shows what the earlier stack was deployed with.
- the Kubernetes provider (`ClusterOutputs.k8s_provider`) is rebuilt from the infra stack's `cluster.kubeconfig`
  output (a secret), read through `pulumi.StackReference("<org>/<project>/<base>-infra")`.
- cloud values (fields declared `pulumi.Output[...]`, e.g. the model-reader IAM role ARN the serving stack's Triton
  ServiceAccounts carry) are exported by the producer (`export_outputs`) and read through the StackReference
  (`StackRefs.output`): they are known only once the earlier stack is up, and no program-time decision hangs on them.
- every other resource field (namespaces, claims, Secrets, charts, gates) is only a `depends_on` anchor in its
  readers; Pulumi dependencies do not cross stacks, so the rebuilt outputs leave them empty and the order is the
  stack order: each later stack holds a StackReference to every earlier one, and `pulumi up` fails while an
  earlier stack does not exist.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi

LAYER_STACKS: tuple[str, ...] = ("infra", "platform", "serving")

# program layer -> layer stack. infra: what the cloud and cluster owners run (network, cluster, namespaces, node
# pools with the GPU Operator, storage); platform: fabric, acceptance gates, observability, schedulers, tenancy;
# serving: models and everything per model.
LAYER_STACK: Mapping[str, str] = {
    "network": "infra",
    "cluster": "infra",
    "namespaces": "infra",
    "compute": "infra",
    "storage": "infra",
    "fabric": "platform",
    "acceptance": "platform",
    "observability": "platform",
    "scheduling": "platform",
    "tenancy": "platform",
    "optimization": "serving",
    "serving": "serving",
    "autoscaling": "serving",
    "triton": "serving",
    "performance": "serving",
}

LAYER_KEY = "layer"
SPEC_STACK_KEY = "specStack"
LAYER_KEYS = (LAYER_KEY, SPEC_STACK_KEY)
KUBECONFIG_OUTPUT = "cluster.kubeconfig"  # the infra stack's output the later stacks build their provider from


@dataclass(frozen=True)
class LayerSelection:
    """Which layer stack this run is: its layer and the stack whose file holds the spec."""

    layer: str
    spec_stack: str

    @property
    def stack(self) -> str:
        """The conventional name of this layer stack (`<base>-<layer>`)."""
        return self.stack_name(self.layer)

    def stack_name(self, layer: str) -> str:
        return f"{self.spec_stack}-{layer}"

    def runs(self, program_layer: str) -> bool:
        return LAYER_STACK.get(program_layer) == self.layer

    def earlier(self) -> tuple[str, ...]:
        """The layer stacks deployed before this one, in deploy order."""
        return LAYER_STACKS[: LAYER_STACKS.index(self.layer)]


class LayerDriftError(pulumi.RunError):
    """An earlier layer stack exports a value other than what this stack computes from the spec: it was deployed
    from another version of the spec (or not at all)."""


class StackRefs:
    """The StackReferences of one layer stack to the layer stacks before it (created in deploy order).

    Every value a later stack recomputes from the spec is also checked against what the earlier stack exports
    (`expect`, then `seal` once every earlier layer is rebuilt), and every output it reads (`output`) must be
    there: the Kubernetes provider's kubeconfig waits for the check, so on a mismatch no Kubernetes object of this
    stack is created, changed or deleted, and `pulumi up` fails with the field, both values and the stack to deploy
    first."""

    def __init__(self, selection: LayerSelection, parent: pulumi.Resource) -> None:
        self.selection = selection
        org, project = pulumi.get_organization(), pulumi.get_project()
        self.refs: dict[str, pulumi.StackReference] = {
            layer: pulumi.StackReference(
                f"{selection.stack_name(layer)}",
                stack_name=f"{org}/{project}/{selection.stack_name(layer)}",
                opts=pulumi.ResourceOptions(parent=parent),
            )
            for layer in selection.earlier()
        }
        self._expected: dict[str, dict[str, Any]] = {layer: {} for layer in selection.earlier()}
        self._required: dict[str, set[str]] = {layer: set() for layer in selection.earlier()}
        self._verified: asyncio.Future[bool] = asyncio.get_event_loop().create_future()

    def kubeconfig(self) -> pulumi.Output[str]:
        """The infra stack's kubeconfig (a secret wherever it goes), once the exported values are checked."""
        kubeconfig = self.refs["infra"].require_output(KUBECONFIG_OUTPUT)
        verified = pulumi.Output.from_input(cast(Any, self._verified))
        checked = pulumi.Output.all(kubeconfig, verified).apply(lambda v: str(v[0]))
        secret: pulumi.Output[str] = pulumi.Output.secret(checked)
        return secret

    def output(self, layer_stack: str, name: str) -> pulumi.Output[Any]:
        """A cloud value an earlier stack exports (`export_outputs`). It must be there: the check (`seal`) fails the
        run, before any Kubernetes object of this stack is touched, while that stack does not export it."""
        self._required[layer_stack].add(name)
        return self.refs[layer_stack].get_output(name)

    def expect(self, layer_stack: str, values: Mapping[str, Any]) -> None:
        """Values (`<layer>.<field>`: JSON data) this stack recomputed, which `layer_stack` must export alike."""
        self._expected[layer_stack].update(values)

    def seal(self) -> None:
        """Start the check of every expected value against the earlier stacks' outputs."""
        task = asyncio.ensure_future(self._verify())

        def done(t: asyncio.Future[bool]) -> None:
            if t.cancelled():
                self._verified.cancel()
            elif (exc := t.exception()) is not None:
                self._verified.set_exception(exc)
            else:
                self._verified.set_result(True)

        task.add_done_callback(done)

    async def _verify(self) -> bool:
        problems = []
        for layer, expected in self._expected.items():
            stack = self.selection.stack_name(layer)
            outputs = await self.refs[layer].outputs.future() or {}
            problems += [
                f"  {stack} exports no {name}, which this stack reads"
                for name in sorted(self._required[layer])
                if outputs.get(name) is None
            ]
            for name, want in sorted(expected.items()):
                got = outputs.get(name)
                if _canonical(got) != _canonical(want):
                    problems.append(f"  {stack} exports {_difference(_normal(got), _normal(want), name)}")
        if problems:
            raise LayerDriftError(
                f"layer stack {self.selection.stack} was computed from a spec that the stacks before it were not "
                "deployed from:\n" + "\n".join(problems) + "\n"
                "run `pulumi up` on those stacks first (deploy order: "
                + ", ".join(self.selection.stack_name(layer) for layer in LAYER_STACKS)
                + ")"
            )
        return True


def _canonical(value: Any) -> str:
    return json.dumps(_normal(value), sort_keys=True)


def _normal(value: Any) -> Any:
    """A value as it comes back from a stack output: integral floats as ints (the engine carries numbers as doubles)
    and no null entries in maps (the engine drops them: seen on the real engine with FabricProfile.nic_resource)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def _difference(got: Any, want: Any, path: str) -> str:
    """The first place two normalized values differ, as `path: got != want`."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(set(got) | set(want)):
            if key not in got or key not in want or _canonical(got[key]) != _canonical(want[key]):
                return _difference(got.get(key), want.get(key), f"{path}.{key}")
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if _canonical(g) != _canonical(w):
                return _difference(g, w, f"{path}[{i}]")
    return f"{path} = {_show(got, '(not exported)')}; this spec gives {_show(want, '(none)')}"


def _show(value: Any, missing: str) -> str:
    text = missing if value is None else _canonical(value)
    return text if len(text) <= 200 else text[:200] + "..."


def export_values(outputs: object, layer: str) -> dict[str, Any]:
    """The plain-data fields of a layer's outputs as stack outputs `<layer>.<field>`, sorted, JSON-ready. Fields
    declared as Pulumi resources or outputs (components/outputs.py) are left out: only their identity could cross,
    and later stacks order by stack order."""
    out: dict[str, Any] = {}
    if not dataclasses.is_dataclass(outputs) or isinstance(outputs, type):
        return out
    for f in dataclasses.fields(outputs):
        declared = str(f.type)
        if "Resource" in declared or "Output" in declared or declared.startswith("EksOutputs"):
            continue
        out[f"{layer}.{f.name}"] = _plain(getattr(outputs, f.name))
    return dict(sorted(out.items()))


def export_outputs(outputs: object, layer: str) -> dict[str, pulumi.Output[Any]]:
    """The cloud values of a layer's outputs (fields declared `pulumi.Output[...]`: an IAM role ARN, a VPC id) as stack
    outputs `<layer>.<field>`, sorted; a field left None is not exported. A later stack reads one through its
    StackReference (`StackRefs.output`): these are known only once the producing stack is up. The cluster's
    kubeconfig is exported on its own, as a secret (KUBECONFIG_OUTPUT)."""
    out: dict[str, pulumi.Output[Any]] = {}
    if not dataclasses.is_dataclass(outputs) or isinstance(outputs, type):
        return out
    for f in dataclasses.fields(outputs):
        value = getattr(outputs, f.name)
        if str(f.type).startswith("pulumi.Output[") and value is not None and f.name != "kubeconfig":
            out[f"{layer}.{f.name}"] = pulumi.Output.from_input(value)
    return dict(sorted(out.items()))


def _plain(value: Any) -> Any:
    """JSON data of a plain value (dataclasses, mappings, tuples, scalars)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


__all__ = [
    "KUBECONFIG_OUTPUT",
    "LAYER_KEYS",
    "LAYER_STACK",
    "LAYER_STACKS",
    "LayerDriftError",
    "LayerSelection",
    "StackRefs",
    "export_outputs",
    "export_values",
]
