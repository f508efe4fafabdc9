"""The Pulumi program: read the spec from stack config, build one InferencePlatform.

The same function runs under `pulumi up` and inside the offline engine (`inference-ra synth`), which feeds it the
stack file's config through the Pulumi SDK's own config API, so both paths read config identically.
"""

from __future__ import annotations

import pulumi

from components import charts
from components.context import PlatformContext
from components.layering import LayerSelection
from components.loader import NAMESPACE, SpecError, spec_and_selection_from_pulumi_config
from components.platform import InferencePlatform
from components.spec import SECRET_KEYS, StackSpec

PLATFORM_NAME = "inference-ra"


def run_program(
    spec: StackSpec | None = None, selection: LayerSelection | None = None, region: str | None = None
) -> InferencePlatform:
    """Build the platform, or one layer stack of it (`selection`, components/layering.py). `spec`, `selection` and
    `region` are read from stack config unless the caller already validated them (the offline engine does, to fail
    fast before starting; it feeds the same config, so both give the same spec)."""
    if spec is None:
        spec, selection, region = spec_and_selection_from_pulumi_config()
    elif region is None:
        region = pulumi.Config("aws").get("region")
    charts.configure(charts.ChartSettings(spec.charts, spec.images))  # chart source + image mirror of this run
    cfg = pulumi.Config(NAMESPACE)
    secrets = {key: value for key in SECRET_KEYS if (value := cfg.get_secret(key)) is not None}
    # a layer stack names its resources' spec (AWS default tags) by the base stack, as the one-stack program does
    stack = selection.spec_stack if selection is not None else pulumi.get_stack()
    ctx = PlatformContext(stack=stack, spec=spec, region=region, secrets=secrets)
    platform = InferencePlatform(PLATFORM_NAME, ctx, selection=selection)
    for name in sorted(platform.exports):
        pulumi.export(name, platform.exports[name])
    return platform


def main() -> None:
    try:
        run_program()
    except SpecError as exc:
        raise pulumi.RunError(f"invalid stack config:\n{exc}") from None
