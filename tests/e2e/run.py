"""`make e2e`: the real Pulumi engine against a real (local) Kubernetes API server, per existing-cluster stack.

    python -m tests.e2e [--stack dev --stack ncp-ib] [--bin .tools/bin] [--out out/e2e] [--keep]

For each stack, on a fresh control plane (tests/e2e/cluster.py) with the stack's nodes (tests/e2e/nodes.py):
preview with the policy pack -> up -> preview shows no changes -> change the spec -> the engine's steps equal what
`inference-ra diff` predicted -> up -> refresh (and no drift after it) -> destroy leaves nothing behind. Every step
asserts on the API server's state (tests/e2e/checks.py). Writes out/e2e/summary.json; exit 1 if any step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.e2e import checks
from tests.e2e.cluster import LocalCluster, binaries_present
from tests.e2e.emulate import Emulators, WebhookServer, wait_until
from tests.e2e.nodes import fake_nodes
from tests.e2e.workspace import REPO, Workspace, steps_of

UPSTREAM = Path(os.environ.get("INFERENCE_RA_UPSTREAM", REPO.parent / "shared" / "upstream"))
STACKS = ("dev", "ncp-ib")
# What the operators' controllers would do and this run does not verify (the summary repeats it).
UNVERIFIED = [
    "Dynamo operator: reconciling DynamoGraphDeployments into pods, its admission and conversion webhooks, the "
    "Planner; graphs are checked as accepted by their CRD (schema, pruning), not as serving",
    "GPU Operator / Network Operator: ClusterPolicy and NicClusterPolicy reconciliation (driver, device plugins, "
    "RDMA resources are given to the fake nodes instead)",
    "KAI Scheduler and Grove: queue admission and gang scheduling (the default scheduler places pods)",
    "KEDA, Prometheus Operator: ScaledObjects, PodMonitors and rules are stored, not evaluated",
    "containers: nothing runs (KWOK marks pods Ready); burn-in, prefetch and labeller logic run only as emulated",
]


@dataclass
class StepResult:
    step: str
    ok: bool = False
    seconds: float = 0.0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "ok": self.ok, "seconds": round(self.seconds, 1)}
        if self.error:
            out["error"] = self.error
        if self.details:
            out["details"] = self.details
        return out


class StepFailed(Exception):
    pass


@dataclass
class StackRun:
    stack: str
    steps: list[StepResult] = field(default_factory=list)

    @contextmanager
    def step(self, name: str, fatal: bool = True) -> Iterator[StepResult]:
        """Time a step; a failure is recorded and, if `fatal`, ends the stack's run (later steps need it)."""
        result = StepResult(name)
        self.steps.append(result)
        t0 = time.monotonic()
        print(f"[{self.stack}] {name} ...", flush=True)
        try:
            yield result
            result.ok = True
        except Exception as exc:
            result.error = f"{exc.__class__.__name__}: {exc}" if not isinstance(exc, StepFailed) else str(exc)
            if not isinstance(exc, (StepFailed, *checks_error_types())):
                result.error += "\n" + traceback.format_exc(limit=6)
            if fatal:
                raise StepFailed(f"{name} failed") from exc
        finally:
            result.seconds = time.monotonic() - t0
            print(f"[{self.stack}] {name}: {'ok' if result.ok else 'FAILED'} ({result.seconds:.1f}s)", flush=True)
            if result.error:
                print(result.error[-3000:], flush=True)


def checks_error_types() -> tuple[type[BaseException], ...]:
    from tests.e2e.workspace import CommandFailed

    return (CommandFailed, TimeoutError)


def fail_if(problems: list[str], what: str) -> None:
    if problems:
        shown = "\n  ".join(problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise StepFailed(f"{what}: {len(problems)} problem(s)\n  {shown}{more}")


class MemorySampler:
    """Peak resident memory of this process tree (harness, control plane, pulumi and its plugins), sampled."""

    def __init__(self) -> None:
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        root = os.getpid()
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, _tree_rss_kib(root) / 1024)
            self._stop.wait(0.5)


def _tree_rss_kib(root: int) -> int:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            status = (d / "status").read_text()
        except OSError:
            continue
        parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(d.name)] = int(line.split()[1])
    total, todo = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


# ---- per-stack scenario ---------------------------------------------------------------------------------------
# Every existing cluster the stacks target is assumed to have a default StorageClass: the charts' own volumes
# (the Dynamo platform's NATS JetStream claim, Prometheus and Alertmanager) name no class and rely on it. The
# harness's cluster has one, served by the emulated provisioner (tests/e2e/emulate.py).
CLUSTER_STORAGE_CLASSES = {"standard": "standard.e2e.inference-ra.nvidia.com"}


@dataclass(frozen=True)
class Scenario:
    """The spec change made between the two `pulumi up`s, and the existing cluster's own StorageClasses."""

    describe: str
    mutate: Callable[[dict[str, Any]], None]
    storage_classes: dict[str, str]  # name -> provisioner (what the cluster already has)
    rbac: list[tuple[str, str, str, str, str, bool]] = field(default_factory=list)


def _dev_change(config: dict[str, Any]) -> None:
    models = config["inference-ra:serving"]["models"]
    models[0]["worker"]["replicas"] = 3
    canary = json.loads(json.dumps(models[0]))
    canary.update({"name": "llama-8b-canary", "worker": {"tensorParallel": 1, "replicas": 1}})
    models.append(canary)


def _ncp_change(config: dict[str, Any]) -> None:
    config["inference-ra:scheduling"]["queues"].append({"name": "team-c", "gpuQuota": 8})
    for m in config["inference-ra:serving"]["models"]:
        if m["name"] == "llama-70b":
            m["worker"]["replicas"] = 3


def _tenant_rbac(tenant: str, other: str) -> list[tuple[str, str, str, str, str, bool]]:
    sa = f"system:serviceaccount:{tenant}:tenant-deployer"
    return [
        (sa, "create", "nvidia.com", "dynamographdeployments", tenant, True),
        (sa, "patch", "nvidia.com", "dynamographdeploymentscalingadapters/scale", tenant, True),
        (sa, "get", "", "pods", tenant, True),
        (sa, "get", "", "secrets", tenant, False),
        (sa, "create", "nvidia.com", "dynamographdeployments", other, False),
        (sa, "delete", "", "namespaces", tenant, False),
    ]


SCENARIOS: dict[str, Scenario] = {
    "dev": Scenario(
        "serving.models[0].worker.replicas 2 -> 3 and a new model llama-8b-canary",
        _dev_change,
        {"standard-rwx": "rwx.e2e.inference-ra.nvidia.com"},
    ),
    "ncp-ib": Scenario(
        "a new queue team-c (tenant namespace, quota, policies, RBAC) and llama-70b replicas 2 -> 3",
        _ncp_change,
        {},
        _tenant_rbac("team-a", "team-b") + _tenant_rbac("team-b", "team-a"),
    ),
}


def _cli(*args: str) -> None:
    """Run the inference-ra CLI of this checkout; a non-zero exit fails the step with its output."""
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "inference-ra"), *args], capture_output=True, text=True, check=False, cwd=REPO
    )
    if proc.returncode != 0:
        raise StepFailed(f"inference-ra {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")


def synth(stack_file: Path, out_dir: Path) -> Path:
    _cli("synth", str(stack_file), "--out", str(out_dir))
    return out_dir


def predicted_changes(base: Path, head: Path, out: Path) -> list[dict[str, Any]]:
    _cli("diff", "--base", str(base), "--head", str(head), "--format", "json", "--allow-destructive", "--out", str(out))
    doc = json.loads(out.read_text())
    return [c for s in doc["stacks"] for c in s["changes"]]


_ACTION_OPS = {"add": {"create"}, "remove": {"delete"}, "change": {"update", "replace", "create-replacement"}}


def _chart_parent(urn: str) -> str | None:
    """`kubernetes:helm.sh/v4:Chart` in a URN's type chain -> the chart's own URN prefix key (its name)."""
    types = urn.split("::")[2]
    return "chart" if "kubernetes:helm.sh/v4:Chart$" in types else None


def compare_steps(predicted: list[dict[str, Any]], actual: list[dict[str, str]]) -> list[str]:
    """The engine's steps on custom resources (chart children aside) are exactly the predicted changes."""
    problems = []
    pred = {c["urn"]: c["action"] for c in predicted if not c["type"].startswith("inference-ra:")}
    act: dict[str, set[str]] = {}
    chart_children = 0
    for s in actual:
        if s["type"].startswith("inference-ra:") or s["type"] == "pulumi:pulumi:Stack":
            continue
        if _chart_parent(s["urn"]):
            chart_children += 1
            continue
        act.setdefault(s["urn"], set()).add(s["op"])
    for urn, action in sorted(pred.items()):
        ops = act.pop(urn, set())
        if not ops & _ACTION_OPS[action]:
            problems.append(f"predicted {action} of {urn}, engine did {sorted(ops) or 'nothing'}")
    for urn, ops in sorted(act.items()):
        problems.append(f"engine did {sorted(ops)} on {urn}, not predicted by inference-ra diff")
    charts_changed = any(c["type"] == "kubernetes:helm.sh/v4:Chart" for c in predicted)
    if chart_children and not charts_changed:
        problems.append(f"engine changed {chart_children} chart-rendered object(s) but no chart's inputs changed")
    return problems


def run_stack(stack: str, args: argparse.Namespace, run: StackRun, sampler: MemorySampler) -> dict[str, Any]:
    from kubernetes import client, dynamic

    from components.loader import read_stack_file, spec_from_stack_file

    scenario = SCENARIOS[stack]
    work = args.out / "work" / stack
    if work.exists():
        import shutil

        shutil.rmtree(work)
    work.mkdir(parents=True)
    cluster = LocalCluster(args.bin, work / "cluster")
    emulators: Emulators | None = None
    info: dict[str, Any] = {"change": scenario.describe}
    try:
        with run.step("control-plane") as r:
            cluster.start()
            api_client = cluster.api_client()
            core = client.CoreV1Api(api_client)
            storage = client.StorageV1Api(api_client)
            spec = spec_from_stack_file(read_stack_file(stack))
            for node in fake_nodes(spec):
                core.create_node(node)
            for name, provisioner in {**CLUSTER_STORAGE_CLASSES, **scenario.storage_classes}.items():
                default = name in CLUSTER_STORAGE_CLASSES
                storage.create_storage_class(
                    {
                        "apiVersion": "storage.k8s.io/v1",
                        "kind": "StorageClass",
                        "metadata": {
                            "name": name,
                            "annotations": {"storageclass.kubernetes.io/is-default-class": str(default).lower()},
                        },
                        "provisioner": provisioner,
                        "volumeBindingMode": "Immediate",
                    }
                )
            n_nodes = len(fake_nodes(spec))

            def nodes_ready() -> bool:
                ready = 0
                for n in core.list_node().items:
                    ready += any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
                return ready == n_nodes

            wait_until("fake nodes Ready", nodes_ready, 120)
            dyn = dynamic.DynamicClient(api_client)
            webhooks = WebhookServer(api_client, cluster.pki)
            assert cluster.egress is not None
            cluster.egress.route = webhooks.route
            emulators = Emulators(
                api_client,
                UPSTREAM / "crds" / "dynamo",
                {**CLUSTER_STORAGE_CLASSES, **scenario.storage_classes},
                webhooks,
            )
            emulators.start()
            r.details = {"nodes": n_nodes, "server": cluster.server}

        ws = Workspace(stack, work, args.bin, UPSTREAM / "charts")
        with run.step("stack-init") as r:
            ws.create(cluster.kubeconfig_text())
            base = synth(ws.config_file, work / "plans" / "base" / stack)
            r.details = {"backend": f"file://{work / 'state'}"}
            baseline = checks.snapshot(dyn)

        with run.step("preview-policy", fatal=False) as r:
            proc = ws.pulumi("preview", "--policy-pack", str(ws.policy_pack()), "--diff")
            out = proc.stdout + proc.stderr
            # the pack is listed under "Policy Packs run" only when it loaded and analyzed the resources
            ran = out.split("Policy Packs run:", 1)[-1] if "Policy Packs run:" in out else ""
            if "inference-ra|local|" not in ran:
                raise StepFailed(f"the policy pack is not among the packs run:\n{out[-3000:]}")
            if "using default levels and config" in out:
                r.details["stackConfigReachedPack"] = False

        with run.step("up") as r:
            _, events = ws.events("up", "--yes", "--skip-preview")
            r.details["steps"] = len(steps_of(events))
            r.details.update(assert_state(dyn, api_client, base, ws, scenario, core))

        with run.step("preview-no-changes", fatal=False) as r:
            ws.pulumi("preview", "--expect-no-changes", "--diff")

        with run.step("change-predicted") as r:
            ws.write_config(scenario.mutate)
            head = synth(ws.config_file, work / "plans" / "head" / stack)
            predicted = predicted_changes(base.parent, head.parent, work / "diff.json")
            _, events = ws.events("preview", "--diff")
            fail_if(compare_steps(predicted, steps_of(events)), "preview vs inference-ra diff")
            r.details = {"predicted": len(predicted)}

        with run.step("up-change") as r:
            _, events = ws.events("up", "--yes", "--skip-preview")
            actual = steps_of(events)
            fail_if(compare_steps(predicted, actual), "up vs inference-ra diff")
            r.details = {"steps": len(actual)}
            r.details.update(assert_state(dyn, api_client, head, ws, scenario, core))

        with run.step("refresh", fatal=False) as r:
            ws.pulumi("refresh", "--yes", "--skip-preview")
            ws.pulumi("preview", "--expect-no-changes", "--diff")

        with run.step("destroy") as r:
            export = ws.export()
            protected = sorted(x["urn"] for x in export["deployment"]["resources"] if x.get("protect"))
            plan = json.loads((head / "plan.json").read_text())
            planned = sorted(x["urn"] for x in plan["resources"] if x.get("protect"))
            if protected != planned:
                raise StepFailed(f"protected in state {protected} != protected in plan {planned}")
            # stateful resources are protected: deleting them is a deliberate second step, as for a user
            ws.pulumi("state", "unprotect", "--all", "--yes")
            ws.pulumi("destroy", "--yes", "--skip-preview")
            wait_until("namespaces of the stack gone", lambda: not _our_namespaces(core, head), 180)
            assert emulators is not None
            problems, known = checks.leftover_problems(dyn, baseline, head, emulators.operator_objects)
            r.details = {"unprotected": len(protected), "leftByOperators": known}
            fail_if(problems, "after destroy")
    except StepFailed:
        pass
    finally:
        if emulators:
            emulators.stop()
            info["emulated"] = dict(emulators.done)
            if emulators.webhooks is not None:
                info["emulated"]["webhooks"] = dict(sorted(emulators.webhooks.calls.items()))
                emulators.webhooks.stop()
        if cluster.egress is not None:
            info["egressRefused"] = dict(sorted(cluster.egress.refused.items()))
            if emulators.errors:
                info["emulatorErrors"] = emulators.errors
        info["controlPlanePeakRssMiB"] = cluster.peak_rss_mib()
        cluster.stop()
        if not args.keep:
            cluster.wipe()
    return info


def _our_namespaces(core: Any, plan_dir: Path) -> list[str]:
    ours = {p.stem.removeprefix("Namespace-") for p in (plan_dir / "manifests" / "_cluster").glob("Namespace-*.yaml")}
    return [n.metadata.name for n in core.list_namespace().items if n.metadata.name in ours]


def assert_state(
    dyn: Any, api_client: Any, plan_dir: Path, ws: Workspace, scenario: Scenario, core: Any
) -> dict[str, Any]:
    n_plan, problems = checks.plan_problems(dyn, plan_dir)
    n_state, state_problems = checks.state_problems(dyn, ws.export())
    problems += state_problems
    problems += checks.rbac_problems(api_client, scenario.rbac)
    problems += workload_problems(api_client, plan_dir)
    fail_if(problems, "API server state")
    return {"planObjects": n_plan, "stateObjects": n_state, "rbacChecks": len(scenario.rbac)}


def workload_problems(api_client: Any, plan_dir: Path) -> list[str]:
    """The plan's workloads are scheduled where the spec says: DaemonSets on every node they select, Deployments
    available, Jobs complete, claims bound (the real scheduler and controllers against the fake nodes)."""
    from kubernetes import client

    apps, batch, core = client.AppsV1Api(api_client), client.BatchV1Api(api_client), client.CoreV1Api(api_client)
    problems = []
    for path in sorted((plan_dir / "manifests").rglob("*.yaml")):
        if "_charts" in path.parts:
            continue
        obj = yaml.safe_load(path.read_text())
        kind, meta = obj["kind"], obj["metadata"]
        name, ns = meta["name"], meta.get("namespace")
        if kind == "DaemonSet":
            ds = apps.read_namespaced_daemon_set(name, ns).status
            if not ds.desired_number_scheduled or ds.number_ready != ds.desired_number_scheduled:
                problems.append(
                    f"DaemonSet {ns}/{name}: {ds.number_ready}/{ds.desired_number_scheduled} ready "
                    "(0 desired: no node matches its selector and tolerations)"
                )
        elif kind == "Deployment":
            d = apps.read_namespaced_deployment(name, ns).status
            if (d.available_replicas or 0) < (obj["spec"].get("replicas", 1) or 0):
                problems.append(f"Deployment {ns}/{name}: {d.available_replicas} available")
        elif kind == "Job":
            j = batch.read_namespaced_job(name, ns).status
            if not j.succeeded:
                problems.append(f"Job {ns}/{name}: not complete ({j.active} active, {j.failed} failed)")
        elif kind == "PersistentVolumeClaim":
            c = core.read_namespaced_persistent_volume_claim(name, ns).status
            if c.phase != "Bound":
                problems.append(f"PersistentVolumeClaim {ns}/{name}: {c.phase}")
    return problems


def build_times(tools_dir: Path) -> list[dict[str, str]]:
    path = tools_dir / "build-times.tsv"
    if not path.exists():
        return []
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    return [{"at": r[0], "binary": r[1], "seconds": r[2].rstrip("s")} for r in rows if len(r) == 3]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", action="append", choices=sorted(SCENARIOS), help="default: dev and ncp-ib")
    parser.add_argument("--bin", type=Path, default=REPO / ".tools" / "bin")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "e2e")
    parser.add_argument("--keep", action="store_true", help="keep etcd data and work files")
    args = parser.parse_args(argv)
    # a terminated run still stops its control plane (the `finally` in run_stack)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.bin, args.out = args.bin.resolve(), args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    stacks = args.stack or list(STACKS)
    summary: dict[str, Any] = {"stacks": {}, "unverified": UNVERIFIED}
    sampler = MemorySampler()
    sampler.start()
    t0 = time.monotonic()
    missing = binaries_present(args.bin) + [
        b for b in ("pulumi", "pulumi-language-python", "pulumi-resource-kubernetes") if not (args.bin / b).exists()
    ]
    if missing:
        for stack in stacks:
            summary["stacks"][stack] = {
                "steps": [
                    StepResult(
                        "binaries", False, 0.0, f"missing in {args.bin}: {', '.join(missing)} (make tools)"
                    ).to_json()
                ]
            }
    else:
        for stack in stacks:
            run = StackRun(stack)
            info = run_stack(stack, args, run, sampler)
            summary["stacks"][stack] = {"steps": [s.to_json() for s in run.steps], **info}
    sampler.stop()
    ok = all(s["ok"] for st in summary["stacks"].values() for s in st["steps"])
    summary.update(
        {
            "ok": ok,
            "seconds": round(time.monotonic() - t0, 1),
            "peakRssMiB": round(sampler.peak_mib, 1),
            "build": build_times(args.bin.parent),
        }
    )
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"e2e: {'ok' if ok else 'FAILED'} -> {args.out / 'summary.json'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
