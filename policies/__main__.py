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

from policies.crossguard import build_policies, stack_settings  # noqa: E402

PolicyPack(
    name="inference-ra",
    description="GPU inference platform guardrails: GPU pools and workloads, pod security, images, encryption, "
    "network exposure, serving resilience and cost.",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=build_policies(stack_settings()),
)
