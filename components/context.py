"""`PlatformContext`: what every layer of one run shares.

Inputs of the run, fixed before the first layer: the stack name, the validated spec, the region, the secret config
values (`secrets`, keyed by components.spec.SECRET_KEYS) and the AWS provider (aws stacks; the composition creates
it before any layer). Everything else a layer needs from another layer comes through that layer's typed outputs
(components/outputs.py), read as `ctx.<layer>`: the composition stores each layer's returned outputs once, and
reading them before their layer ran is a `LayerOrderError` naming that layer, never a KeyError mid-run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pulumi

from components.outputs import (
    AcceptanceOutputs,
    ClusterOutputs,
    ComputeOutputs,
    FabricOutputs,
    LayerOutputs,
    NamespaceOutputs,
    NetworkOutputs,
    ObservabilityOutputs,
    OptimizationOutputs,
    SchedulingOutputs,
    ServingOutputs,
    StorageOutputs,
)
from components.spec import StackSpec

T = TypeVar("T", bound=LayerOutputs)


class LayerOrderError(pulumi.RunError):
    """A layer read outputs of a layer that had not run (or outputs were provided twice)."""


@dataclass
class PlatformContext:
    stack: str
    spec: StackSpec
    region: str | None
    secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    aws_provider: pulumi.ProviderResource | None = None  # set by the composition before the first layer (aws)
    _outputs: dict[type[LayerOutputs], LayerOutputs] = field(default_factory=dict, init=False, repr=False)

    def provide(self, outputs: LayerOutputs) -> None:
        """Store a layer's outputs (the composition calls this with what the layer returned); once per type."""
        kind = type(outputs)
        if kind in self._outputs:
            raise LayerOrderError(f"{kind.__name__} provided twice: only the `{kind.LAYER}` layer produces it, once")
        self._outputs[kind] = outputs

    def _read(self, kind: type[T]) -> T:
        found = self._outputs.get(kind)
        if found is None:
            raise LayerOrderError(
                f"{kind.__name__} read before the `{kind.LAYER}` layer produced it: the reading layer must come after "
                f"`{kind.LAYER}` in components/platform.py LAYERS"
            )
        assert isinstance(found, kind)
        return found

    @property
    def network(self) -> NetworkOutputs:
        return self._read(NetworkOutputs)

    @property
    def cluster(self) -> ClusterOutputs:
        return self._read(ClusterOutputs)

    @property
    def namespaces(self) -> NamespaceOutputs:
        return self._read(NamespaceOutputs)

    @property
    def compute(self) -> ComputeOutputs:
        return self._read(ComputeOutputs)

    @property
    def fabric(self) -> FabricOutputs:
        return self._read(FabricOutputs)

    @property
    def storage(self) -> StorageOutputs:
        return self._read(StorageOutputs)

    @property
    def acceptance(self) -> AcceptanceOutputs:
        return self._read(AcceptanceOutputs)

    @property
    def observability(self) -> ObservabilityOutputs:
        return self._read(ObservabilityOutputs)

    @property
    def scheduling(self) -> SchedulingOutputs:
        return self._read(SchedulingOutputs)

    @property
    def optimization(self) -> OptimizationOutputs:
        return self._read(OptimizationOutputs)

    @property
    def serving(self) -> ServingOutputs:
        return self._read(ServingOutputs)

    def k8s_opts(
        self,
        parent: pulumi.Resource,
        *,
        depends_on: Sequence[pulumi.Resource] = (),
        protect: bool = False,
        namespace: str | None = None,
    ) -> pulumi.ResourceOptions:
        """Options for a Kubernetes object: the stack's provider, and a dependency on its namespace."""
        deps = list(depends_on)
        if namespace and namespace in self.namespaces.by_name:
            deps.append(self.namespaces.by_name[namespace])
        return pulumi.ResourceOptions(
            parent=parent, provider=self.cluster.k8s_provider, depends_on=deps or None, protect=protect
        )

    def aws_opts(
        self, parent: pulumi.Resource, *, depends_on: Sequence[pulumi.Resource] = (), protect: bool = False
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent, provider=self.aws_provider, depends_on=list(depends_on) or None, protect=protect
        )
