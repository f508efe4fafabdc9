"""The Pulumi program: read the spec from stack config, build one InferencePlatform.

The same function runs under `pulumi up` and inside the offline engine (`inference-ra synth`), which feeds it the
stack file's config through the Pulumi SDK's own config API, so both paths read config identically.
"""

from __future__ import annotations

import pulumi

from components import charts
from components.context import PlatformContext
from components.loader import NAMESPACE, SpecError, spec_from_pulumi_config
from components.platform import InferencePlatform
from components.spec import SECRET_KEYS, StackSpec

PLATFORM_NAME = "inference-ra"


def run_program(spec: StackSpec | None = None) -> InferencePlatform:
    """Build the platform. `spec` is read from stack config unless the caller already validated it (the offline
    engine does, to fail fast before starting; it feeds the same config, so both give the same spec)."""
    if spec is None:
        spec = spec_from_pulumi_config()
    charts.configure(charts.ChartSettings(spec.charts, spec.images))  # chart source + image mirror of this run
    cfg = pulumi.Config(NAMESPACE)
    secrets = {key: value for key in SECRET_KEYS if (value := cfg.get_secret(key)) is not None}
    ctx = PlatformContext(
        stack=pulumi.get_stack(), spec=spec, region=pulumi.Config("aws").get("region"), secrets=secrets
    )
    return InferencePlatform(PLATFORM_NAME, ctx)


def main() -> None:
    try:
        run_program()
    except SpecError as exc:
        raise pulumi.RunError(f"invalid stack config:\n{exc}") from None
