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
- every other resource field (namespaces, claims, Secrets, charts, gates) is only a `depends_on` anchor in its
  readers; Pulumi dependencies do not cross stacks, so the rebuilt outputs leave them empty and the order is the
  stack order: each later stack holds a StackReference to every earlier one, and `pulumi up` fails while an
  earlier stack does not exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


class StackRefs:
    """The StackReferences of one layer stack to the layer stacks before it (created in deploy order)."""

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

    def kubeconfig(self) -> pulumi.Output[str]:
        """The infra stack's kubeconfig (a secret wherever it goes)."""
        return pulumi.Output.secret(self.refs["infra"].require_output(KUBECONFIG_OUTPUT))


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
    "LayerSelection",
    "StackRefs",
    "export_values",
]
