"""Plan diff: every destructive category is caught, harmless changes are not, exit codes, a real git revision pair."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stacks.cli import app
from stacks.diff import diff_plans, quantity
from stacks.report import parse_capacity_totals, render_report
from stacks.review import review_dirs, to_json, to_markdown
from tests.conftest import CHARTS_DIR, REPO, shipped_plan

runner = CliRunner()
URN = "urn:pulumi:s::inference-ra::inference-ra:index:InferencePlatform$inference-ra:{layer}:{Layer}${type}::{name}"


def res(type_: str, name: str, inputs: dict[str, Any], layer: str = "storage", protect: bool = False) -> dict[str, Any]:
    urn = URN.format(layer=layer, Layer=layer.title(), type=type_, name=name)
    return {
        "urn": urn,
        "type": type_,
        "name": name,
        "parent": "",
        "provider": "",
        "dependsOn": [],
        "protect": protect,
        "retainOnDelete": False,
        "inputs": inputs,
    }


def plan(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"project": "inference-ra", "stack": "s", "resources": list(resources)}


FSX = res(
    "aws:fsx/lustreFileSystem:LustreFileSystem",
    "cache",
    {
        "deploymentType": "PERSISTENT_2",
        "storageCapacity": 4800,
        "perUnitStorageThroughput": 250,
        "subnetIds": ["subnet-a"],
        "efaEnabled": True,
    },
    protect=True,
)
NODEGROUP = res(
    "aws:eks/nodeGroup:NodeGroup",
    "h100",
    {
        "amiType": "AL2023_x86_64_NVIDIA",
        "capacityType": "CAPACITY_BLOCK",
        "instanceTypes": ["p5.48xlarge"],
        "scalingConfig": {"minSize": 2, "maxSize": 16, "desiredSize": 2},
    },
    layer="compute",
)
PVC = res(
    "kubernetes:core/v1:PersistentVolumeClaim",
    "dynamo/model-cache",
    {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "model-cache", "namespace": "dynamo"},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": "fsx",
            "resources": {"requests": {"storage": "2Ti"}},
        },
    },
    protect=True,
)
BUCKET = res("aws:s3/bucketV2:BucketV2", "models", {"bucket": "infer-prod-models"}, protect=True)
CLUSTER = res(
    "aws:eks/cluster:Cluster",
    "infer-prod",
    {"name": "infer-prod", "roleArn": "arn:a", "version": "1.33"},
    layer="cluster",
    protect=True,
)
KMS = res("aws:kms/key:Key", "secrets", {"keyUsage": "ENCRYPT_DECRYPT", "enableKeyRotation": True}, layer="cluster")


def mutate(r: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(r)
    cur = out["inputs"]
    *head, last = path.split(".")
    for part in head:
        cur = cur[part]
    cur[last] = value
    return out


@pytest.mark.parametrize(
    ("before", "path", "value", "field"),
    [
        (FSX, "deploymentType", "SCRATCH_2", "deploymentType"),
        (FSX, "storageCapacity", 2400, "storageCapacity"),
        (FSX, "efaEnabled", False, "efaEnabled"),
        (NODEGROUP, "instanceTypes", ["p5e.48xlarge"], "instanceTypes"),
        (NODEGROUP, "amiType", "BOTTLEROCKET_x86_64_NVIDIA", "amiType"),
        (NODEGROUP, "capacityType", "ON_DEMAND", "capacityType"),
        (PVC, "spec.resources.requests.storage", "1Ti", "spec.resources.requests.storage"),
        (PVC, "spec.storageClassName", "weka", "spec.storageClassName"),
        (BUCKET, "bucket", "renamed-models", "bucket"),
        (CLUSTER, "roleArn", "arn:b", "roleArn"),
        (KMS, "keyUsage", "SIGN_VERIFY", "keyUsage"),
    ],
)
def test_replacement_is_destructive(before: dict[str, Any], path: str, value: Any, field: str) -> None:
    d = diff_plans(plan(before), plan(mutate(before, path, value)))
    (x,) = d.destructive
    assert x.action == "replace" and field in x.fields and x.source


@pytest.mark.parametrize("gone", [FSX, NODEGROUP, PVC, BUCKET, CLUSTER, KMS])
def test_deletion_is_destructive(gone: dict[str, Any]) -> None:
    d = diff_plans(plan(gone), plan())
    (x,) = d.destructive
    assert x.action == "delete" and x.urn == gone["urn"]


@pytest.mark.parametrize(
    ("before", "path", "value"),
    [
        (FSX, "storageCapacity", 9600),  # growing a filesystem is in place
        (FSX, "perUnitStorageThroughput", 500),
        (NODEGROUP, "scalingConfig", {"minSize": 2, "maxSize": 32, "desiredSize": 4}),
        (PVC, "spec.resources.requests.storage", "4Ti"),
        (CLUSTER, "version", "1.34"),
        (KMS, "enableKeyRotation", False),
    ],
)
def test_harmless_change_is_not_flagged(before: dict[str, Any], path: str, value: Any) -> None:
    d = diff_plans(plan(before), plan(mutate(before, path, value)))
    assert d.destructive == []
    (c,) = d.changes
    assert c.action == "change" and c.fields


def test_stateless_removal_and_addition_are_not_destructive() -> None:
    job = res(
        "kubernetes:batch/v1:Job",
        "dynamo/prefetch",
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "prefetch"}},
    )
    d = diff_plans(plan(job), plan(FSX))
    assert d.destructive == []
    assert {c.action for c in d.changes} == {"add", "remove"}
    assert d.counts() == {"storage": {"add": 1, "remove": 1, "change": 0}}


def test_kubernetes_changes_carry_a_yaml_diff() -> None:
    d = diff_plans(plan(PVC), plan(mutate(PVC, "spec.resources.requests.storage", "4Ti")))
    assert "-      storage: 2Ti" in d.changes[0].yaml_diff and "+      storage: 4Ti" in d.changes[0].yaml_diff


def test_quantities() -> None:
    assert quantity("2Ti") == 2 * 2**40 and quantity("1T") == 1e12 and quantity(3) == 3.0 and quantity("x") is None


def test_milli_and_exponent_quantities() -> None:
    """CPU requests are milli-quantities ("500m"): the diff raised KeyError on them (found by `make e2e`)."""
    assert quantity("500m") == 0.5 and quantity("1e3") == 1000.0 and quantity("1.5Gi") == 1.5 * 2**30


def write_plan_dir(root: Path, p: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "plan.json").write_text(json.dumps(p))
    return root


def test_cli_exit_codes(tmp_path: Path) -> None:
    base = write_plan_dir(tmp_path / "base", plan(NODEGROUP))
    head = write_plan_dir(tmp_path / "head", plan(mutate(NODEGROUP, "instanceTypes", ["p5e.48xlarge"])))
    result = runner.invoke(app, ["diff", "--base", str(base), "--head", str(head), "--format", "json"])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["destructive"] == 1 and doc["stacks"][0]["destructive"][0]["fields"] == ["instanceTypes"]
    allowed = runner.invoke(app, ["diff", "--base", str(base), "--head", str(head), "--allow-destructive"])
    assert allowed.exit_code == 0
    same = runner.invoke(app, ["diff", "--base", str(base), "--head", str(base)])
    assert same.exit_code == 0
    assert runner.invoke(app, ["diff", "--base", str(base)]).exit_code == 2
    assert runner.invoke(app, ["diff", "--base", str(tmp_path / "nope"), "--head", str(head)]).exit_code == 2
    assert runner.invoke(app, ["diff", "--base", str(base), "--head", str(head), "--format", "xml"]).exit_code == 2


def test_markdown_report_lists_destructive_first(tmp_path: Path) -> None:
    base = write_plan_dir(tmp_path / "base", plan(FSX, NODEGROUP))
    head = write_plan_dir(tmp_path / "head", plan(mutate(NODEGROUP, "scalingConfig.maxSize", 32)))
    md = to_markdown(review_dirs(base, head))
    assert md.index("### Destructive changes") < md.index("### Changes per layer")
    assert "| s | `aws:fsx/lustreFileSystem:LustreFileSystem cache` | delete |" in md
    assert "| yes |" in md  # the filesystem is protected: pulumi up would refuse the delete
    assert "<details>" in md and "`scalingConfig.maxSize`: 16 → 32" in md


def test_capacity_totals_round_trip() -> None:
    p = shipped_plan("aws-h100")
    totals = parse_capacity_totals(render_report(p))
    assert totals is not None and (totals.gpus_min, totals.gpus_max) == (0, 128)  # a capacity block starts empty
    assert totals.cost_max == pytest.approx(16 * 55.04)


def test_json_report_shape(tmp_path: Path) -> None:
    base = write_plan_dir(tmp_path / "b", plan(PVC))
    head = write_plan_dir(tmp_path / "h", plan(PVC))
    doc = to_json(review_dirs(base, head))
    assert doc == {
        "destructive": 0,
        "stacks": [
            {
                "stack": "s",
                "counts": {},
                "destructive": [],
                "changes": [],
                "capacity": {"base": None, "head": None},
                "policy": [],
            }
        ],
    }


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_diff_against_a_real_git_revision(tmp_path: Path) -> None:
    """Copy the project into a fresh repo, commit, change a stack, and diff --base-ref HEAD."""
    repo = tmp_path / "repo"
    shutil.copytree(
        REPO,
        repo,
        ignore=shutil.ignore_patterns(
            ".venv", "out", ".git", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache", "golden", ".cache"
        ),
    )
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    stack = repo / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("sizeGi: 200", "sizeGi: 100").replace("retention: 7d", "retention: 14d"))
    proc = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "python"),
            "-m",
            "stacks.cli",
            "diff",
            "--base-ref",
            "HEAD",
            "--stack",
            "dev",
            "--format",
            "json",
        ],
        cwd=repo,
        env={
            "PYTHONPATH": str(repo),
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "INFERENCE_RA_CHARTS_DIR": str(CHARTS_DIR),  # the copy has no ../shared beside it (CI sets it too)
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 3), proc.stderr
    doc = json.loads(proc.stdout)
    changed = {c["urn"].rsplit("::", 1)[-1] for c in doc["stacks"][0]["changes"]}
    assert "kube-prometheus-stack" in changed
    # the values change shows inside the chart: the Prometheus object the chart renders, with its field
    prometheus = [
        c
        for c in doc["stacks"][0]["changes"]
        if c["urn"].endswith("Prometheus::kube-prometheus-stack-monitoring/kube-prometheus-stack-prometheus")
    ]
    assert len(prometheus) == 1 and "Chart$kubernetes:monitoring.coreos.com/v1:Prometheus" in prometheus[0]["urn"]
    assert {(f["path"], f["old"], f["new"]) for f in prometheus[0]["fields"]} >= {("spec.retention", "7d", "14d")}
    assert subprocess.run([*git, "worktree", "list"], capture_output=True, text=True).stdout.count("\n") == 1


def test_markdown_report_carries_head_policy_results(tmp_path: Path) -> None:
    from stacks.review_policy import attach_policy

    bad = res(
        "kubernetes:apps/v1:Deployment",
        "triton/x",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "x", "namespace": "triton"},
            "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "nvcr.io/nvidia/tritonserver:latest"}]},
                },
            },
        },
        layer="triton",
    )
    review = review_dirs(write_plan_dir(tmp_path / "b", plan()), write_plan_dir(tmp_path / "h", plan(bad)))
    attach_policy(review, review.heads)
    md = to_markdown(review)
    assert "### Policy results (head)" in md and "| s | images-pinned | mandatory |" in md
