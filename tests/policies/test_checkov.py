"""checkov (PyPI, offline) over every shipped stack's rendered manifests, one run: every finding is fixed or accepted
with its reason in policies/checkov_accepted.py (on the objects listed there). A checkov that cannot run fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from policies.checkov_accepted import ACCEPTED, chart_reason
from stacks.output import write_plan
from tests.conftest import REPO, SHIPPED_STACKS, shipped_plan


def test_checkov_finds_nothing_unexplained(tmp_path: Path) -> None:
    for stack in SHIPPED_STACKS:
        write_plan(shipped_plan(stack), tmp_path / "out" / stack, "")
    root = tmp_path / "manifests"
    for stack in SHIPPED_STACKS:
        shutil.copytree(tmp_path / "out" / stack / "manifests", root / stack)
    # its own virtualenv (Makefile, requirements/checkov.in); a checkov that is not there fails, never skips
    exe = Path(os.environ.get("INFERENCE_RA_CHECKOV") or REPO / ".venv-checkov" / "bin" / "checkov")
    assert exe.is_file(), f"checkov not installed at {exe}: run `make test` (it builds .venv-checkov)"
    proc = subprocess.run(
        [str(exe), "-d", str(root), "--framework", "kubernetes", "-o", "json", "--quiet", "--skip-download"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1 = findings; anything else: checkov did not run
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert sum(r["summary"]["passed"] for r in reports) > 1000  # it really checked the manifests
    unexplained = []
    for r in reports:
        for f in r["results"]["failed_checks"]:
            name = Path(f["file_path"]).name
            if "/_charts/" in f["file_path"]:  # a rendered chart object: accepted per chart and object
                if not chart_reason(f["check_id"], f["file_path"]):
                    unexplained.append((f["check_id"], f["file_path"], f["check_name"]))
                continue
            reason, where = ACCEPTED.get(f["check_id"], ("", ()))
            if not reason or (where and not name.startswith(where)):
                unexplained.append((f["check_id"], f["file_path"], f["check_name"]))
    assert unexplained == []


def test_rejects_a_chart_finding_on_an_object_or_check_not_listed() -> None:
    node = "/x/ncp-ib/_charts/kube-prometheus-stack/kube-system/DaemonSet-kube-prometheus-stack-prometheus-"
    node += "node-exporter"
    assert "node-exporter" in chart_reason("CKV_K8S_19", f"{node}.yaml")  # listed: host network for host metrics
    assert chart_reason("CKV_K8S_16", f"{node}.yaml") == ""  # privileged: not listed for node-exporter
    other = "/x/dev/_charts/kube-prometheus-stack/monitoring/Deployment-kube-prometheus-stack-operator.yaml"
    assert chart_reason("CKV_K8S_19", other) == ""  # same check, an object not listed
    assert chart_reason("CKV_K8S_19", "/x/dev/Deployment-app.yaml") == ""  # not a chart object
