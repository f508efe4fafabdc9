"""The inference-ra CrossGuard policy pack: `pulumi preview --policy-pack policies/`.

Only builds the PolicyPack. Its constructor starts the analyzer server and blocks forever: never import this module
(tests import policies.crossguard instead). The rules live in security.py, gpu.py, serving.py, storage.py and
cost.py; `inference-ra check` runs the same functions offline.
"""

import sys
from pathlib import Path

# The Pulumi CLI runs this file with policies/ first on sys.path; there `storage`, `gpu`... would shadow the
# project's packages of the same name. Put the repository root there instead: rules import policies.* and the spine.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402
from pulumi_policy import policy as _analyzer  # noqa: E402

from policies.crossguard import LiveSettings, build_policies, configure_stack  # noqa: E402
from policies.registry import resolve  # noqa: E402

_live = LiveSettings(resolve())
_policies = build_policies(_live)

# The engine sends the stack's config in ConfigureStack, before it asks for the policies; pulumi_policy (1.21)
# accepts that call and drops the config, so take it here. An error (config the program rejects too) fails the
# call, and with it the preview: the pack never runs on defaults it was not configured with.
_configure_stack = _analyzer._PolicyAnalyzerServicer.ConfigureStack


def _configure(self, request, context):  # type: ignore[no-untyped-def]
    configure_stack(_policies, _live, dict(request.config))
    return _configure_stack(self, request, context)


_analyzer._PolicyAnalyzerServicer.ConfigureStack = _configure  # type: ignore[method-assign]

PolicyPack(
    name="inference-ra",
    description="GPU inference platform guardrails: GPU pools and workloads, pod security, images, encryption, "
    "network exposure, serving resilience and cost.",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=_policies,
)
