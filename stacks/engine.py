"""The offline engine: run the real Pulumi program in-process on the SDK's mock monitor and record the plan.

No CLI, no credentials, no network. Every registration is recorded with its parent, provider, dependencies,
protect/retain flags and inputs in engine form; secrets are replaced by "[secret]" structurally (by the SDK's
secret marker), so a secret never reaches plan.json or a manifest. The engine waits for every outstanding RPC and
output before returning: a program that returned early would otherwise silently lose resources.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import logging
import math
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import settings as psettings
from pulumi.runtime.stack import wait_for_rpcs

from components.loader import NAMESPACE, SpecError, StackFile, spec_from_stack_file
from components.rules import Problem
from components.spec import SECRET_KEYS, StackSpec
from stacks import placeholders

if TYPE_CHECKING:
    from stacks.charts import PlanCharts

PROJECT = "inference-ra"
ORGANIZATION = "organization"  # what the self-managed (DIY) backends call every stack's organization
SECRET = "[secret]"
UNKNOWN = "[unknown]"
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_OFFLINE_SECRET = "offline-placeholder-not-a-secret"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    provider: str
    depends_on: list[str]
    protect: bool
    retain_on_delete: bool
    custom: bool
    inputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "provider": self.provider,
            "dependsOn": self.depends_on,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "inputs": self.inputs,
        }


@dataclass
class Plan:
    project: str
    stack: str
    spec: StackSpec
    resources: list[Registration] = field(default_factory=list)
    charts: PlanCharts | None = None  # every chart resource rendered offline (stacks/charts), set by synth
    region: str | None = None  # `aws:region` of the stack file (reports say whose prices they use); not in plan.json
    # stack outputs (`pulumi.export`): only a layer stack has any (components/layering.py); secrets as "[secret]"
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "project": self.project,
            "stack": self.stack,
            "resources": [self._resource_json(r) for r in sorted(self.resources, key=lambda r: r.urn)],
        }
        if self.outputs:  # absent for a one-stack plan, which exports nothing (its plan.json is unchanged)
            doc["outputs"] = dict(sorted(self.outputs.items()))
        return doc

    def _resource_json(self, r: Registration) -> dict[str, Any]:
        """A chart resource also lists what it renders (`rendered`, DESIGN.md plan output contract)."""
        out = r.to_json()
        if self.charts is not None:
            from stacks.charts import rendered_json

            rendering = self.charts.by_urn().get(r.urn)
            if rendering is not None:
                out["rendered"] = rendered_json(rendering, self.charts.written[r.urn])
            elif r.urn in self.charts.skipped:
                out["rendered"] = {"skipped": self.charts.skipped[r.urn]}
        return out


def _redact(value: Any) -> Any:
    """A secret value with its shape kept (maps keep their keys, e.g. a Secret's stringData) and every leaf hidden."""
    if isinstance(value, dict) and value.get(_SIG) not in (_SECRET_SIG, _OUTPUT_SIG, _RESOURCE_SIG):
        return {k: _redact(v) for k, v in sorted(value.items())}
    if isinstance(value, dict) and value.get(_SIG) in (_SECRET_SIG, _OUTPUT_SIG):
        return _redact(value.get("value"))
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return SECRET


def decode(value: Any) -> Any:
    """Engine-form value -> plain JSON, secrets redacted, integral floats back to ints."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return _redact(value.get("value"))
        if sig == _RESOURCE_SIG:
            return value.get("urn", "")
        if sig == _OUTPUT_SIG:
            return _redact(value.get("value")) if value.get("secret") else decode(value.get("value", UNKNOWN))
        return {k: decode(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    return value


def _decode_struct(struct: Any) -> dict[str, Any]:
    """`decode(MessageToDict(struct))` in one pass over the protobuf Struct (the recording's hot path)."""
    fields = struct.fields
    if _SIG in fields:  # a secret, output or resource reference: rare, take the general path
        return decode(json_format.MessageToDict(struct))  # type: ignore[no-any-return]
    return {k: _decode_value(fields[k]) for k in sorted(fields)}


def _decode_value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        return UNKNOWN if text == _UNKNOWN_VALUE else text
    if kind == "struct_value":
        return _decode_struct(value.struct_value)
    if kind == "list_value":
        return [_decode_value(v) for v in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        if math.isnan(number) or math.isinf(number):  # as json_format.MessageToDict did
            raise ValueError(f"cannot record {number} for Value.number_value")
        return int(number) if number.is_integer() else number
    if kind == "bool_value":
        return value.bool_value
    return None


def _urn_only(ref: str) -> str:
    return ref.split("::", 4)[0] + "::" + "::".join(ref.split("::")[1:4]) if ref.count("::") > 3 else ref


class _RecordingMonitor(pmocks.MockMonitor):
    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[Registration] = []
        self.urns: set[str] = set()
        self.duplicates: list[str] = []  # the real engine refuses a second registration of a URN

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # Real engine form: the parent's whole qualified type chain, minus the root stack's type.
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                type_ = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def ReadResource(self, request: Any) -> Any:
        """A read resource (the layer stacks' StackReferences): recorded like a registration, so it shows in the
        plan with its inputs (the referenced stack's name)."""
        response = super().ReadResource(request)
        self._record(response.urn, request, inputs={"name": request.id}, custom=True)
        return response

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if response.urn in self.urns:
            self.duplicates.append(response.urn)
            raise ValueError(f"Duplicate resource URN '{response.urn}'; try giving it a unique name")
        self.urns.add(response.urn)
        if request.type != "pulumi:pulumi:Stack":
            self._record(
                response.urn,
                request,
                inputs=_decode_struct(request.object),
                custom=bool(request.custom),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
            )
        return response

    def _record(
        self,
        urn: str,
        request: Any,
        *,
        inputs: dict[str, Any],
        custom: bool,
        protect: bool = False,
        retain_on_delete: bool = False,
    ) -> None:
        parent = request.parent
        if parent.split("::")[2:3] == ["pulumi:pulumi:Stack"]:
            parent = ""
        self.records.append(
            Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=parent,
                provider=request.provider.rsplit("::", 1)[0] if request.provider else "",
                depends_on=sorted(set(request.dependencies)),
                protect=protect,
                retain_on_delete=retain_on_delete,
                custom=custom,
                inputs=inputs,
            )
        )


class _Mocks(pmocks.Mocks):
    def __init__(self, region: str, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.region = region
        self.stack_outputs = stack_outputs or {}  # {stack: its outputs}, what a StackReference to it reads

    def new_resource(self, args: pmocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            stack = str(inputs.get("name") or args.name)
            ref = placeholders.stack_reference(stack, self.stack_outputs.get(stack.rsplit("/", 1)[-1], {}))
            return ref.pop("id"), {**inputs, **ref}
        out = placeholders.outputs(args.typ, args.name, inputs, self.region)
        rid = out.pop("id")
        if args.typ.startswith("kubernetes:") and args.typ != "pulumi:providers:kubernetes":
            # The program reads no output of a Kubernetes object but its identity: echo the metadata only. Echoing
            # every input (a DynamoGraphDeployment is ~20 KB) made the SDK serialize and deserialize each payload
            # a second time for outputs nobody awaits — a third of synth at fleet size (docs/performance.md).
            return rid, {**({"metadata": inputs["metadata"]} if "metadata" in inputs else {}), **out}
        return rid, {**inputs, **out}

    def call(self, args: pmocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return placeholders.invoke(args.token, dict(args.args), self.region), []  # no check failures


def _config_for(stack_file: StackFile) -> tuple[dict[str, str], list[str]]:
    """The stack file's config in the SDK's form (JSON-encoded objects); secure values become placeholders."""
    import json

    config: dict[str, str] = {}
    for key, value in stack_file.config.items():
        if key in stack_file.secrets:
            continue
        config[key] = value if isinstance(value, str) else json.dumps(value)
    secret_keys = [f"{NAMESPACE}:{k}" for k in SECRET_KEYS]
    for key in secret_keys:
        config[key] = _OFFLINE_SECRET  # offline: real secrets are never read; the plan shows "[secret]"
    return config, secret_keys


_DRAIN_SECONDS = 2.0  # offline every input resolves at once: what still waits after this never will


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Settle what a failed program left pending, so the loop closes without 'Task was destroyed' noise: first let it
    run out (an Output whose task is cancelled before it awaits its inputs leaves their coroutines never awaited,
    and their warnings fire wherever they are collected later), then cancel what still waits."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=_DRAIN_SECONDS))
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


class SynthError(Exception):
    """The program failed while registering resources (not a config problem)."""


def _collect_quietly() -> None:
    """After a failed program: the SDK coroutines it created and never awaited (e.g. StackReference.require_output
    builds an Output from `value.future()` and `value.is_known()` coroutines) are collected here, quietly. Collected
    later, their "never awaited" warnings fire inside whatever code runs then (seen: inside compile(), where CPython
    3.11 fails with "AST constructor recursion depth mismatch")."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gc.collect()


def _without_tracebacks(exc: BaseException) -> BaseException:
    """`exc` with the tracebacks of it and its chain dropped (they hold the failed run's frames alive)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return exc


def run_offline(
    program: Callable[[], object],
    *,
    stack: str,
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    region: str = "us-east-1",
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    settle: Callable[[], Awaitable[None]] | None = None,
) -> list[Registration]:
    """Run `program` on the recording mock monitor and return every registration, sorted by URN. `settle` is awaited
    on the program's loop once every registration is done (to read the values of Outputs the program made).

    The one path both `synth` and the scale benchmark's SDK floor (bench/synth_scale.py) go through.
    """
    with _collector_tuned():
        return _run_offline(
            program,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            region=region,
            stack_outputs=stack_outputs,
            settle=settle,
        )


# The SDK allocates a few dozen container objects per registration (Outputs, futures, protobuf messages); with the
# default gen-0 threshold (700) the cyclic collector ran ~800 times per 1,500 registrations and took a quarter of
# synth. Objects alive before the run are frozen out of the collector's scans; the thresholds are restored after.
_GC_THRESHOLDS = (50_000, 20, 100)


@contextlib.contextmanager
def _collector_tuned() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def _run_offline(
    program: Callable[[], object],
    *,
    stack: str,
    config: dict[str, str] | None,
    secret_keys: list[str] | None,
    region: str,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    settle: Callable[[], Awaitable[None]] | None = None,
) -> list[Registration]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = _Mocks(region, stack_outputs)
    monitor = _RecordingMonitor(mocks)
    logger = logging.getLogger("inference-ra.engine")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    error: SynthError | None = None
    try:
        pulumi.runtime.set_all_config(config or {}, secret_keys or [])
        pmocks.set_mocks(
            mocks,
            project=PROJECT,
            stack=stack,
            preview=False,
            logger=logger,
            monitor=monitor,
            organization=ORGANIZATION,
        )
        with contextlib.redirect_stderr(io.StringIO()):
            program()
            loop.run_until_complete(wait_for_rpcs())
            if settle is not None:
                loop.run_until_complete(settle())
    except Exception as exc:
        error = SynthError(f"{type(exc).__name__}: {exc}")
        error.__cause__ = _without_tracebacks(exc)
    finally:
        with contextlib.suppress(Exception):  # the transforms' callback server (images.mirror), on this loop
            loop.run_until_complete(psettings._shutdown_callbacks())
        with warnings.catch_warnings():  # a failed run's never-awaited SDK coroutines (see _collect_quietly)
            warnings.simplefilter("ignore", RuntimeWarning)
            _drain(loop)
        psettings.reset_options()
        pulumi.runtime.set_all_config({}, [])
        loop.close()
        asyncio.set_event_loop(None)
        if error is not None:
            _without_tracebacks(error)  # again: draining re-raised the cause through its futures, with their frames
            _collect_quietly()
    if error is not None:
        raise error
    if monitor.duplicates:  # as the real engine: "Duplicate resource URN '...'; try giving it a unique name"
        raise SynthError(
            f"Duplicate resource URN {monitor.duplicates[0]!r}; try giving it a unique name "
            f"({len(monitor.duplicates)} duplicate registration(s))"
        )
    return sorted(monitor.records, key=lambda r: r.urn)  # registration order is async: sort


def synth(
    stack_file: StackFile,
    *,
    charts_dir: Path | None = None,
    allow_unrendered_charts: bool = False,
    render_charts: bool = True,
    layer: str | None = None,
    earlier_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    """Render a stack offline. Raises SpecError for bad config before anything runs; ChartSourceError when a chart
    cannot be found (fail closed: `allow_unrendered_charts` lists it as skipped instead); HelmRenderError when Helm
    fails on a chart. `render_charts=False` is for measurements of the engine alone (bench/).

    A layer stack (components/layering.py) runs the program in that layer's mode: `stack_file` is a layer stack's
    file (`inference-ra:layer` + `inference-ra:specStack`), or the base stack's file with `layer`. What its
    StackReferences read is what the earlier layer stacks export when synthesized from the same spec (so the
    program's check of recomputed values against them passes), unless `earlier_outputs` ({stack: outputs}) says
    otherwise; the kubeconfig output is a placeholder either way."""
    from components.layering import LayerSelection
    from components.loader import layer_selection, layer_spec_file

    selection = layer_selection(stack_file)  # a layer stack's file: its two keys checked, its spec read from base
    if selection is not None and layer is not None and layer != selection.layer:
        raise SpecError([Problem("layer", f"{stack_file.path} is the {selection.layer} stack", layer)])
    spec_file = stack_file
    if selection is not None:
        spec_file = layer_spec_file(selection, stack_file.path.parent)
    elif layer is not None:  # the base stack's file, run as one of its layer stacks
        selection = LayerSelection(layer=layer, spec_stack=stack_file.name)
    spec = spec_from_stack_file(spec_file)  # fail fast, with every problem, before the engine starts
    config, secret_keys = _config_for(spec_file)
    name = selection.stack if selection is not None else stack_file.name

    from stacks.program import run_program

    built: list[Any] = []
    exports: dict[str, Any] = {}

    def program() -> None:  # validated once, above
        built.append(run_program(spec, selection, spec_file.region))

    async def settle() -> None:  # the stack outputs as the engine stores them: secrets hidden
        for key, value in built[0].exports.items() if built else ():
            if isinstance(value, pulumi.Output):
                value = SECRET if await value.is_secret() else await value.future()
            exports[key] = value

    if selection is not None and earlier_outputs is None:
        earlier: dict[str, Mapping[str, Any]] = {}
        for before in selection.earlier():
            done = synth(spec_file, layer=before, render_charts=False, earlier_outputs=earlier)
            earlier[done.stack] = done.outputs
        earlier_outputs = earlier
    failure: SynthError | None = None
    try:
        resources = run_offline(
            program,
            stack=name,
            config=config,
            secret_keys=secret_keys,
            region=spec_file.region or "us-east-1",
            stack_outputs=earlier_outputs,
            settle=settle,
        )
    except SynthError as exc:
        failure = exc.with_traceback(None)  # its frames hold the failed run alive
    if failure is not None:
        built.clear()  # the failed run's objects: release them and their pending coroutines now
        _collect_quietly()
        raise failure
    plan = Plan(project=PROJECT, stack=name, spec=spec, resources=resources, region=spec_file.region)
    plan.outputs = exports
    if render_charts:
        from stacks.charts import render_plan

        plan.charts = render_plan(plan, charts_dir=charts_dir, allow_unrendered=allow_unrendered_charts)
    return plan
