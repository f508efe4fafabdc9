"""A throwaway Pulumi project around the repository's program, and the `pulumi` commands the harness runs.

The project directory holds its own Pulumi.yaml (the repository's, with `stackConfigDir: config`), a `stacks`
link to the repository's program and a copy of the stack's config file; state goes to a local file backend
(`pulumi login file://...`) and secrets use the passphrase provider, so nothing outside the work directory is
touched. The CLI, language host and Kubernetes provider are the ones tools/build.sh built (first on PATH; the
engine uses a provider plugin found on PATH before looking for an installed one, and automatic plugin downloads
are off, so nothing is fetched).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS_KEY = "inference-ra:charts"  # components/spec/charts.py ChartsSpec: the air-gapped chart directory


class CommandFailed(RuntimeError):
    def __init__(self, args: list[str], code: int, output: str) -> None:
        self.args_ = args
        self.code = code
        self.output = output
        super().__init__(f"`{' '.join(args)}` exited {code}:\n{_tail(output)}")


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Workspace:
    stack: str
    work: Path
    bin_dir: Path
    chart_source: Path
    passphrase: str = field(default_factory=lambda: secrets.token_hex(16))
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def project(self) -> Path:
        return self.work / "project"

    @property
    def config_file(self) -> Path:
        return self.project / "config" / f"Pulumi.{self.stack}.yaml"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        venv_bin = REPO / ".venv" / "bin"
        env.update(
            {
                "PATH": f"{self.bin_dir}:{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}",
                "VIRTUAL_ENV": str(REPO / ".venv"),
                "PYTHONPATH": str(REPO),
                "PULUMI_HOME": str(self.work / "pulumi-home"),
                "PULUMI_BACKEND_URL": f"file://{self.work / 'state'}",
                "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
                "PULUMI_SUPPRESS_COPILOT_LINK": "true",
                "NO_COLOR": "1",
                "PULUMI_DEBUG_COMMANDS": "true",  # enables --event-log (the engine events the harness compares)
            }
        )
        env.pop("PULUMI_ACCESS_TOKEN", None)
        return env

    def create(self, kubeconfig: str, mutate: Any = None) -> None:
        """Write the project and the stack's config copy; `mutate(config)` edits the copy's config mapping."""
        (self.work / "state").mkdir(parents=True, exist_ok=True)
        (self.project / "config").mkdir(parents=True, exist_ok=True)
        project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
        project["stackConfigDir"] = "config"
        project["runtime"]["options"]["virtualenv"] = str(REPO / ".venv")
        (self.project / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
        link = self.project / "stacks"
        if not link.exists():
            link.symlink_to(REPO / "stacks", target_is_directory=True)
        self.write_config(mutate)
        self.pulumi("login", f"file://{self.work / 'state'}")
        self.pulumi("stack", "init", self.stack, "--secrets-provider", "passphrase")
        self.pulumi("config", "set", "--secret", "inference-ra:kubeconfig", stdin=kubeconfig)
        self.pulumi("config", "set", "--secret", "inference-ra:hfToken", stdin="hf_e2e_not_a_real_token")
        self.pulumi("config", "set", "--secret", "inference-ra:grafanaAdminPassword", stdin=secrets.token_urlsafe(24))

    def write_config(self, mutate: Any = None) -> None:
        """(Re)write the stack's config from the repository's stack file, keeping secrets already set."""
        doc = yaml.safe_load((REPO / "stacks" / f"Pulumi.{self.stack}.yaml").read_text())
        config = doc["config"]
        config[CHARTS_KEY] = {"source": "local", "localDir": str(self.chart_source)}
        if mutate:
            mutate(config)
        if self.config_file.exists():
            old = yaml.safe_load(self.config_file.read_text()) or {}
            for key, value in (old.get("config") or {}).items():
                if isinstance(value, dict) and set(value) == {"secure"}:
                    config[key] = value
            if "encryptionsalt" in old:
                doc["encryptionsalt"] = old["encryptionsalt"]
        self.config_file.write_text(yaml.safe_dump(doc, sort_keys=False))

    def pulumi(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 1800
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["pulumi", *args, "--non-interactive"]
        if args[0] not in ("login", "stack") or args[:2] == ("stack", "export"):
            cmd += ["--stack", self.stack]
        t0 = time.monotonic()
        proc = subprocess.run(
            cmd,
            cwd=self.project,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        out = proc.stdout + ("\n" + proc.stderr if proc.stderr else "")
        self.log.append({"cmd": " ".join(cmd), "code": proc.returncode, "seconds": round(time.monotonic() - t0, 1)})
        with (self.work / "pulumi.log").open("a") as f:
            f.write(f"$ {' '.join(cmd)}  (exit {proc.returncode})\n{out}\n")
        if check and proc.returncode != 0:
            raise CommandFailed(cmd, proc.returncode, out)
        return proc

    def events(self, *args: str, check: bool = True) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
        """Run an engine command with `--event-log` and return the engine events it wrote (one JSON per line)."""
        path = self.work / f"events-{len(self.log)}.jsonl"
        proc = self.pulumi(*args, "--event-log", str(path), check=check)
        events = []
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    events.append(json.loads(line))
        return proc, events

    def policy_pack(self) -> Path:
        """The policy pack as the engine can start it with this language host.

        The CLI (pkg/v3 v3.274) starts a directory policy pack through the language host's RunPlugin and sends the
        pack's location only in `RunPluginRequest.info`; the language host we can build (sdk/v3 v3.68.0, see
        tools/langhost/go.mod) reads the older `program` field, which the CLI no longer fills, and so starts the
        wrong program. The CLI also accepts an executable as `--policy-pack` (resource/plugin/analyzer_plugin.go,
        NewPolicyAnalyzer) and loads the PulumiPolicy.yaml beside it: this launcher runs what that host's RunPlugin
        runs for a Python pack, `python <pack dir> <engine address>`, in the project's virtualenv.
        """
        pack = self.work / "policy-pack"
        pack.mkdir(parents=True, exist_ok=True)
        launcher = pack / "inference-ra-policy-pack"
        python = REPO / ".venv" / "bin" / "python"
        launcher.write_text(f'#!/bin/sh\nexec "{python}" -u "{REPO / "policies"}" "$@"\n')
        launcher.chmod(0o755)
        link = pack / "PulumiPolicy.yaml"
        if not link.exists():
            link.symlink_to(REPO / "policies" / "PulumiPolicy.yaml")
        return launcher

    def export(self) -> dict[str, Any]:
        return dict(json.loads(self.pulumi("stack", "export", "--show-secrets").stdout))


def steps_of(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The engine's resource steps from an event log: [{urn, type, op}] in order, `same` steps left out."""
    out = []
    for e in events:
        pre = e.get("resourcePreEvent")
        if not pre:
            continue
        meta = pre["metadata"]
        if meta.get("op") in ("same", "read"):
            continue
        out.append({"urn": meta["urn"], "type": meta["type"], "op": meta["op"]})
    return out
