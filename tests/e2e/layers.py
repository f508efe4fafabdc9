"""The real Pulumi engine on the dev spec as three layer stacks (docs/layers.md) against a local API server.

    .venv/bin/python -m tests.e2e.layers      # needs the e2e harness (tests/e2e, docs/e2e.md) and .tools/bin

Steps: control plane + fake nodes + emulators (the harness's), `pulumi up` of <base>-infra, -platform, -serving in
order on one file:// backend; infra's and platform's outputs; a serving-only change: `pulumi preview
--expect-no-changes` on infra and platform, `pulumi up` on serving; an infra value changed without deploying infra:
serving's preview is refused (the drift check); destroy in reverse order. The spec is dev's, charts read from
../shared/upstream/charts; secrets go to the layer stack that reads them (infra: kubeconfig, hfToken; platform:
grafanaAdminPassword). The language host of .tools passes no project root, so the base stack's file is written
to stacks/ (untracked, removed at the end) where the program reads it. Writes <work>/summary.json; exit 1 if a
step failed."""

from __future__ import annotations

import json
import secrets
import sys
import time
import traceback
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

BIN = REPO / ".tools" / "bin"
UPSTREAM = REPO.parent / "shared" / "upstream"
WORK = REPO / "out" / "e2e-layers"
STORAGE = {"standard": "standard.e2e.inference-ra.nvidia.com", "standard-rwx": "rwx.e2e.inference-ra.nvidia.com"}
LAYERS = ("infra", "platform", "serving")
BASE = "e2edev"
BASE_FILE = REPO / "stacks" / f"Pulumi.{BASE}.yaml"  # untracked, removed at the end
summary: dict = {"steps": []}


def step(name: str, fn):  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    try:
        details = fn() or {}
        summary["steps"].append({"step": name, "ok": True, "seconds": round(time.monotonic() - t0, 1), **details})
        print(f"OK   {name} ({time.monotonic() - t0:.0f}s) {json.dumps(details)[:600]}", flush=True)
    except Exception as exc:
        summary["steps"].append({"step": name, "ok": False, "error": str(exc)[-3000:]})
        print(f"FAIL {name}: {str(exc)[-3000:]}", flush=True)
        traceback.print_exc()
        raise


def base_config(mutate=None) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    cfg = doc["config"]
    cfg["inference-ra:charts"] = {"source": "local", "localDir": str(UPSTREAM / "charts")}
    if mutate:
        mutate(cfg)
    # the language host here passes no project root: the program reads the base file from its own stacks/
    BASE_FILE.write_text(yaml.safe_dump(doc, sort_keys=False))


def main() -> int:
    import shutil

    from kubernetes import client

    from components.loader import read_stack_file, spec_from_stack_file

    summary["harness"] = "tests.e2e (docs/e2e.md)"  # the e2e harness's pieces, imported below
    from tests.e2e.cluster import LocalCluster
    from tests.e2e.emulate import Emulators, WebhookServer, wait_until
    from tests.e2e.nodes import fake_nodes
    from tests.e2e.workspace import Workspace

    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    cluster = LocalCluster(BIN, WORK / "cluster")
    emulators = None
    passphrase = secrets.token_hex(16)
    ws = {
        layer: Workspace(f"{BASE}-{layer}", WORK, BIN, UPSTREAM / "charts", passphrase=passphrase) for layer in LAYERS
    }
    try:

        def control_plane():  # type: ignore[no-untyped-def]
            nonlocal emulators
            cluster.start()
            api = cluster.api_client()
            core = client.CoreV1Api(api)
            st = client.StorageV1Api(api)
            spec = spec_from_stack_file(read_stack_file("dev"))
            nodes = fake_nodes(spec)
            for node in nodes:
                core.create_node(node)
            for name, prov in STORAGE.items():
                st.create_storage_class(
                    {
                        "apiVersion": "storage.k8s.io/v1",
                        "kind": "StorageClass",
                        "metadata": {
                            "name": name,
                            "annotations": {
                                "storageclass.kubernetes.io/is-default-class": str(name == "standard").lower()
                            },
                        },
                        "provisioner": prov,
                        "volumeBindingMode": "Immediate",
                    }
                )

            def ready() -> bool:
                n = 0
                for x in core.list_node().items:
                    n += any(c.type == "Ready" and c.status == "True" for c in x.status.conditions or [])
                return n == len(nodes)

            wait_until("nodes Ready", ready, 120)
            webhooks = WebhookServer(api, cluster.pki)
            cluster.egress.route = webhooks.route
            emulators = Emulators(api, UPSTREAM / "crds" / "dynamo", STORAGE, webhooks)
            emulators.start()
            return {"nodes": len(nodes)}

        step("control-plane", control_plane)

        def init():  # type: ignore[no-untyped-def]
            (WORK / "state").mkdir(parents=True, exist_ok=True)
            (WORK / "project" / "config").mkdir(parents=True, exist_ok=True)
            project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
            project["stackConfigDir"] = "config"
            project["runtime"]["options"]["virtualenv"] = str(REPO / ".venv")
            (WORK / "project" / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
            (WORK / "project" / "stacks").symlink_to(REPO / "stacks", target_is_directory=True)
            base_config()
            w0 = ws["infra"]
            w0.pulumi("login", f"file://{WORK / 'state'}")
            for layer, w in ws.items():
                w.config_file.write_text(
                    yaml.safe_dump({"config": {"inference-ra:layer": layer, "inference-ra:specStack": BASE}})
                )
                w.pulumi("stack", "init", w.stack, "--secrets-provider", "passphrase")
            ws["infra"].pulumi("config", "set", "--secret", "inference-ra:kubeconfig", stdin=cluster.kubeconfig_text())
            ws["infra"].pulumi("config", "set", "--secret", "inference-ra:hfToken", stdin="hf_e2e_not_a_real_token")
            grafana = secrets.token_urlsafe(24)
            ws["platform"].pulumi("config", "set", "--secret", "inference-ra:grafanaAdminPassword", stdin=grafana)
            return {}

        step("stack-init", init)
        for layer in LAYERS:

            def up(layer: str = layer):  # type: ignore[no-untyped-def]
                ws[layer].pulumi("up", "--yes", "--skip-preview")
                state = ws[layer].export()["deployment"]["resources"]
                types = sorted({r["type"] for r in state})
                urns = [r["urn"] for r in state]
                return {"resources": len(state), "types": types, "urns": urns}

            step(f"up-{layer}", up)

        def outputs():  # type: ignore[no-untyped-def]
            out = json.loads(ws["infra"].pulumi("stack", "output", "--json", "--stack", f"{BASE}-infra").stdout)
            plat = json.loads(ws["platform"].pulumi("stack", "output", "--json", "--stack", f"{BASE}-platform").stdout)
            assert out.get("cluster.kubeconfig") == "[secret]", out.get("cluster.kubeconfig")
            return {"infra": sorted(out), "platform": sorted(plat)}

        step("outputs", outputs)

        def serving_change():  # type: ignore[no-untyped-def]
            def more(cfg):  # type: ignore[no-untyped-def]
                cfg["inference-ra:serving"]["models"][0]["worker"]["replicas"] = 3

            base_config(more)
            ws["infra"].pulumi("preview", "--expect-no-changes", "--diff")
            ws["platform"].pulumi("preview", "--expect-no-changes", "--diff")
            proc = ws["serving"].pulumi("up", "--yes", "--skip-preview", "--diff")
            return {"serving_up_tail": proc.stdout[-1500:]}

        step("serving-change-infra-platform-untouched", serving_change)

        def drift():  # type: ignore[no-untyped-def]
            def no_nvme(cfg):  # type: ignore[no-untyped-def]
                cfg["inference-ra:serving"]["models"][0]["worker"]["replicas"] = 3
                cfg["inference-ra:gpuPools"][0].pop("localNvme", None)

            base_config(no_nvme)  # an infra value changes; infra is not deployed with it
            proc = ws["serving"].pulumi("preview", "--diff", check=False)
            out = proc.stdout + proc.stderr
            base_config(lambda cfg: cfg["inference-ra:serving"]["models"][0]["worker"].update(replicas=3))
            assert proc.returncode != 0 and "were not deployed from" in out and "storage.kv_disk_classes" in out, out[
                -3000:
            ]
            lines = [x.strip() for x in out.splitlines() if "exports storage.kv_disk_classes" in x]
            ws["serving"].pulumi("preview", "--expect-no-changes")  # back to the deployed spec: no changes
            return {"message": lines[:1]}

        step("drift-refused", drift)

        def destroy():  # type: ignore[no-untyped-def]
            for layer in reversed(LAYERS):
                ws[layer].pulumi("state", "unprotect", "--all", "--yes")
                ws[layer].pulumi("destroy", "--yes", "--skip-preview")
            return {}

        step("destroy-reverse-order", destroy)
    except Exception:  # a failed step is recorded in the summary
        pass
    finally:
        if emulators:
            emulators.stop()
            summary["emulated"] = dict(emulators.done)
            summary["emulatorErrors"] = emulators.errors[:5]
        cluster.stop()
        BASE_FILE.unlink(missing_ok=True)
        (WORK / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0 if all(s["ok"] for s in summary["steps"]) and len(summary["steps"]) == 9 else 1


if __name__ == "__main__":
    sys.exit(main())
