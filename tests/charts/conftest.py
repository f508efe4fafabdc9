"""A small chart built per test, registered in the chart catalog, and a one-chart plan that installs it."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from components.catalog.versions import CHARTS, ChartRef
from components.charts import CHART_TYPE
from stacks.engine import Plan, Registration
from tests.conftest import shipped_plan

DEMO_FILES = {
    "Chart.yaml": """
        apiVersion: v2
        name: demo
        version: 1.2.3
        appVersion: "9.9"
        dependencies:
          - name: sub
            version: 0.1.0
            condition: sub.enabled
        """,
    "values.yaml": """
        image: nats:2.10
        sub:
          enabled: false
        """,
    "templates/cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-caps
        data:
          kube: {{ .Capabilities.KubeVersion.Version | quote }}
          example: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}
        """,
    "templates/cr.yaml": """
        {{- if .Capabilities.APIVersions.Has "example.com/v1/Foo" }}
        apiVersion: example.com/v1
        kind: Foo
        metadata:
          name: foo
        spec:
          size: 1
        {{- end }}
        """,
    "templates/secret.yaml": """
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ .Release.Name }}-secret
          namespace: {{ .Release.Namespace }}
        data:
          password: {{ randAlphaNum 20 | b64enc | quote }}
          fixed: {{ "abc" | b64enc | quote }}
        """,
    "templates/deploy.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: web
                  image: {{ .Values.image }}
        """,
    "templates/role.yaml": """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: demo-reader
        rules: []
        """,
    "templates/hook.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: made-by-hook
          annotations:
            helm.sh/hook: pre-install,pre-upgrade
        data: {}
        """,
    "templates/NOTES.txt": "Thanks for installing {{ .Release.Name }}: not YAML at all.",
    "crds/foo.yaml": """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: foos.example.com
        spec:
          group: example.com
          scope: Namespaced
          names: {kind: Foo, plural: foos, singular: foo, listKind: FooList}
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    spec:
                      type: object
                      properties:
                        size: {type: integer, minimum: 0, exclusiveMinimum: true}
        """,
    "charts/sub/Chart.yaml": """
        apiVersion: v2
        name: sub
        version: 0.1.0
        """,
    "charts/sub/templates/x.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: sub-x
        """,
    "charts/sub/crds/bar.yaml": """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: bars.example.com
        spec:
          group: example.com
          scope: Cluster
          names: {kind: Bar, plural: bars}
          versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
        """,
}


def write_demo_chart(root: Path, version: str = "1.2.3") -> Path:
    chart = root / "demo"
    for rel, text in DEMO_FILES.items():
        path = chart / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text).lstrip("\n")
        path.write_text(body.replace("version: 1.2.3", f"version: {version}"), encoding="utf-8")
    return chart


@pytest.fixture
def demo_charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A charts dir holding `demo`, the catalog knowing it, and a private render cache."""
    write_demo_chart(tmp_path / "charts")
    monkeypatch.setitem(
        CHARTS, "demo", ChartRef("demo", "1.2.3", "https://charts.example", "demo.values.yaml", "test", hooks="test")
    )
    monkeypatch.setenv("INFERENCE_RA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "charts"


def demo_plan(
    values: dict[str, Any] | None = None, *, type_: str = CHART_TYPE, mirror: str | None = None, **inputs: Any
) -> Plan:
    """The dev stack's spec with one chart resource: demo@1.2.3 into namespace `ns1`."""
    spec = shipped_plan("dev").spec
    if mirror:
        spec = spec.model_copy(update={"images": spec.images.model_copy(update={"mirror": mirror})})
    urn = f"urn:pulumi:t::inference-ra::{type_}::demo"
    base = {"chart": "demo", "version": "1.2.3", "repositoryOpts": {"repo": "https://charts.example"}}
    base |= {"namespace": "ns1", "values": values or {}, "skipCrds": False}
    reg = Registration(urn, type_, "demo", "", "", [], False, False, False, {**base, **inputs})
    return Plan(project="inference-ra", stack="t", spec=spec, resources=[reg])
