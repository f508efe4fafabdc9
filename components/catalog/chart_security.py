"""Pod security of chart pods, as chart values: the policy pack holds chart pods outside the operator namespaces to
the `restricted` Pod Security Standard (rule pod-hardening), as it does the stack's own, and their namespaces enforce
the strictest level their pods pass (components/namespaces.py, components/catalog/pod_levels.py).

Each entry is a values path, what it sets and the template that reads it (docs/charts.md lists them);
`components/charts.chart_values` adds it unless the stack's values already set that path. `restricted` asks, per
container: allowPrivilegeEscalation false, capabilities drop ALL, runAsNonRoot, seccomp RuntimeDefault (pod or
container). Where a chart reads no value for one of those, the gap is recorded in
components/catalog/upstream_defects.py POLICY_GAPS (rule pod-hardening reports it as an upstream gap).
"""

from __future__ import annotations

from typing import Any

from components.catalog.chart_resources import ValueDefault

RUNTIME_DEFAULT: dict[str, Any] = {"type": "RuntimeDefault"}
# A container that passes `restricted` on its own (the drop/escalation/seccomp controls at container level).
RESTRICTED_CONTAINER: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": RUNTIME_DEFAULT,
}
# NATS images (nats:<v>-alpine, natsio/nats-server-config-reloader, natsio/prometheus-nats-exporter) declare no USER:
# they run as root unless told. UID/GID 1000 with fsGroup 1000 makes the JetStream PVC and the pid emptyDir writable;
# the reloader signals the server through the shared process namespace (pod-template.yaml shareProcessNamespace),
# which needs both containers under the same UID.
NATS_USER = 1000
NATS_POD: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": NATS_USER,
    "runAsGroup": NATS_USER,
    "fsGroup": NATS_USER,
    "seccompProfile": RUNTIME_DEFAULT,
}
# KAI images are distroless `nonroot` (UID 65532); the numeric UID lets the kubelet verify runAsNonRoot.
KAI_USER = 65532
KAI_CONTAINER: dict[str, Any] = {**RESTRICTED_CONTAINER, "runAsNonRoot": True, "runAsUser": KAI_USER}

_NATS_HELPER = "nats subchart templates/_helpers.tpl:244 `nats.loadMergePatch` merges `.merge` into"

CHART_SECURITY: dict[str, tuple[ValueDefault, ...]] = {
    "dynamo-platform": (
        ValueDefault(
            "nats.podTemplate.merge.spec.securityContext",
            NATS_POD,
            f"{_NATS_HELPER} files/stateful-set/pod-template.yaml (the StatefulSet's pod spec)",
        ),
        ValueDefault(
            "nats.podTemplate.merge.spec.automountServiceAccountToken",
            False,
            f"{_NATS_HELPER} files/stateful-set/pod-template.yaml: NATS and its sidecars never call the API server "
            "(serviceAccount.enabled is false: the pod ran under `default` with a token; checkov CKV_K8S_38)",
        ),
        ValueDefault(
            "nats.container.merge.securityContext",
            RESTRICTED_CONTAINER,
            f"{_NATS_HELPER} files/stateful-set/nats-container.yaml",
        ),
        ValueDefault(
            "nats.reloader.merge.securityContext",
            RESTRICTED_CONTAINER,
            f"{_NATS_HELPER} files/stateful-set/reloader-container.yaml",
        ),
        ValueDefault(
            "nats.promExporter.merge.securityContext",
            RESTRICTED_CONTAINER,
            f"{_NATS_HELPER} files/stateful-set/prom-exporter-container.yaml",
        ),
        ValueDefault(
            "dynamo-operator.controllerManager.manager.containerSecurityContext",
            RESTRICTED_CONTAINER,
            "dynamo-operator subchart templates/deployment.yaml:72 (crd-apply init container) and :130 (manager); "
            "the pod already sets runAsNonRoot (:139). The chart default lacks only seccomp.",
        ),
    ),
    "kai-scheduler": (
        ValueDefault(
            "global.securityContext",
            KAI_CONTAINER,
            "templates/services/operator.yaml:73 (kai-operator container) and templates/_helpers.tpl:93 "
            "`kai-scheduler.kai-config` -> Config CR spec.global.securityContext, which the operator puts on every "
            'KAI container it deploys (crds/kai.scheduler_configs.yaml: "security context for the KAI containers")',
        ),
        ValueDefault(
            "global.podSecurityContext",
            {"seccompProfile": RUNTIME_DEFAULT},
            "templates/services/operator.yaml:96 (kai-operator pod)",
        ),
    ),
}
