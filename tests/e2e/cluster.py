"""A local Kubernetes control plane from the binaries tools/build.sh builds: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and KWOK, all on loopback, certificates made per run.

No kubelet and no container runtime: KWOK plays the kubelet of the fake nodes (tests/e2e/nodes.py) — it marks
scheduled pods Running/Ready with an IP, completes Job pods and finishes pod deletion — so workloads go through
the real scheduler (taints, tolerations, node selectors, extended resources) and the real controllers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from tests.e2e.pki import SERVICE_IP, Pki, make_pki

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.1/16"  # KWOK hands pod IPs from here

# The API server of the stacks' kubernetesVersion with what the stacks need switched on: ncp-ib's GB200 pools use
# DRA ResourceClaimTemplates (resource.k8s.io is beta and off by default in 1.33; a GB200 cluster enables it).
APISERVER_FEATURES = [
    "--feature-gates=DynamicResourceAllocation=true",
    "--runtime-config=resource.k8s.io/v1beta1=true,resource.k8s.io/v1beta2=true",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]
    peak_rss_kib: int = 0

    def sample(self) -> None:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_rss_kib = max(self.peak_rss_kib, int(line.split()[1]))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        self.sample()
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.handle.close()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class EgressRouter:
    """The API server's `cluster` egress (admission and conversion webhooks, aggregated APIs, anything addressed
    to a Service, pod or node) goes through this HTTP CONNECT endpoint on a Unix socket. A target that `route`
    maps to a local address (an emulated webhook server, tests/e2e/emulate.py) is tunnelled there; every other
    target is recorded and refused. Nothing those addresses name runs here (KWOK pods are not processes), and the
    API server must never dial cluster or pod IPs out through the machine's own network. Reader: kube-apiserver
    --egress-selector-config-file (k8s.io/apiserver pkg/server/egressselector)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.refused: dict[str, int] = {}
        self.tunnelled: dict[str, int] = {}
        self.route: Callable[[str], tuple[str, int] | None] = lambda target: None
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(64)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        upstream = None
        try:
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 8192:
                chunk = conn.recv(1024)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            first = head.split(b"\r\n", 1)[0].decode(errors="replace").split()
            target = first[1] if len(first) > 1 and first[0] == "CONNECT" else " ".join(first)
            try:
                local = self.route(target)
            except Exception:  # a routing error refuses the connection, like an unknown target
                local = None
            if local is None:
                self.refused[target] = self.refused.get(target, 0) + 1
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                return
            self.tunnelled[target] = self.tunnelled.get(target, 0) + 1
            upstream = socket.create_connection(local, timeout=10)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            conn.settimeout(None)
            upstream.settimeout(None)
            pump = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
            pump.start()
            _pump(conn, upstream)
            pump.join(timeout=30)
        except OSError:
            pass
        finally:
            conn.close()
            if upstream is not None:
                upstream.close()

    def close(self) -> None:
        self._sock.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@dataclass
class LocalCluster:
    """Start with `start()`, stop with `stop()`; `kubeconfig` is the admin kubeconfig (system:masters)."""

    bin_dir: Path
    work: Path
    processes: list[Process] = field(default_factory=list)
    server: str = ""
    kubeconfig: Path = Path()
    pki: Pki | None = None
    egress: EgressRouter | None = None

    def _spawn(self, name: str, args: list[str]) -> Process:
        log = self.work / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("wb")
        proc = subprocess.Popen(
            [str(self.bin_dir / name), *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.work,
            start_new_session=True,
        )
        p = Process(name, proc, log, handle)
        self.processes.append(p)
        return p

    def _wait(self, what: str, check, timeout: float, proc: Process) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited ({proc.proc.returncode}) before {what}:\n{proc.tail()}")
            try:
                if check():
                    return
            except Exception:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{what}: not ready after {timeout:.0f}s:\n{proc.tail()}")

    def start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.pki = pki = make_pki(self.work / "pki")
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        etcd = self._spawn(
            "etcd",
            [
                f"--data-dir={self.work / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",  # a throwaway store: fsync only costs time here
                "--quota-backend-bytes=4294967296",
            ],
        )
        self._wait("etcd health", lambda: _http_ok(f"{etcd_url}/health"), 60, etcd)

        self.egress = EgressRouter(self.work / "egress.sock")
        egress_config = self.work / "egress-selector.yaml"
        egress_config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "apiserver.k8s.io/v1beta1",
                    "kind": "EgressSelectorConfiguration",
                    "egressSelections": [
                        {
                            "name": "cluster",
                            "connection": {
                                "proxyProtocol": "HTTPConnect",
                                "transport": {"uds": {"udsName": str(self.egress.path)}},
                            },
                        }
                    ],
                }
            )
        )
        self.server = f"https://127.0.0.1:{api_port}"
        apiserver = self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--tls-cert-file={pki.server_cert}",
                f"--tls-private-key-file={pki.server_key}",
                f"--client-ca-file={pki.ca}",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",  # the operators' DaemonSets (driver, device plugins) are privileged
                "--endpoint-reconciler-type=none",  # the `kubernetes` Service would point at loopback
                "--enable-priority-and-fairness=false",
                f"--egress-selector-config-file={egress_config}",
                *APISERVER_FEATURES,
            ],
        )
        self.kubeconfig = self._write_kubeconfig(self.work / "admin.kubeconfig")
        self._wait("kube-apiserver /readyz", lambda: self._readyz(), 120, apiserver)

        kc = f"--kubeconfig={self.kubeconfig}"
        self._spawn(
            "kube-controller-manager",
            [
                kc,
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca}",
                "--use-service-account-credentials=false",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-signing-cert-file={pki.ca}",
                f"--cluster-signing-key-file={pki.ca_key}",
                "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
                "--concurrent-gc-syncs=5",
                "--feature-gates=DynamicResourceAllocation=true",
            ],
        )
        # A second profile named like the KAI Scheduler: pods that name `kai-scheduler` (KAI queues, Grove) are
        # placed by the default plugins, since KAI's own scheduler (deployed by its operator) does not run here.
        # KAI's queue and gang semantics are therefore not verified.
        scheduler_config = self.work / "scheduler.yaml"
        scheduler_config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kubescheduler.config.k8s.io/v1",
                    "kind": "KubeSchedulerConfiguration",
                    "clientConnection": {"kubeconfig": str(self.kubeconfig)},
                    "leaderElection": {"leaderElect": False},
                    "profiles": [{"schedulerName": "default-scheduler"}, {"schedulerName": "kai-scheduler"}],
                }
            )
        )
        self._spawn("kube-scheduler", [f"--config={scheduler_config}", "--secure-port=0"])
        # No Stage objects in the config: KWOK falls back to its built-in node (init, heartbeat) and pod (ready,
        # complete for Job pods, delete) stages (sigs.k8s.io/kwok pkg/kwok/cmd/root.go, getDefault*Stages).
        kwok_config = self.work / "kwok.yaml"
        kwok_config.write_text("apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n")
        self._spawn(
            "kwok",
            [
                kc,
                f"--config={kwok_config}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--cidr={POD_CIDR}",
                # hostNetwork pods get the node's IP; the endpoints controller drops loopback addresses, so the
                # nodes carry an address of TEST-NET-2 (RFC 5737, documentation only). Nothing ever dials it: the
                # API server's cluster egress is refused above, and no other component connects to pods.
                "--node-ip=198.51.100.10",
                "--node-lease-duration-seconds=40",
            ],
        )

    def _readyz(self) -> bool:
        import ssl
        import urllib.request

        assert self.pki is not None
        ctx = ssl.create_default_context(cafile=str(self.pki.ca))
        ctx.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        with urllib.request.urlopen(f"{self.server}/readyz", timeout=5, context=ctx) as r:
            return bool(r.status == 200)

    def api_client(self):  # type: ignore[no-untyped-def]
        from kubernetes import config

        return config.new_client_from_config(str(self.kubeconfig))

    def _write_kubeconfig(self, path: Path) -> Path:
        assert self.pki is not None
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "e2e", "cluster": {"server": self.server, "certificate-authority-data": _b64(self.pki.ca)}}
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate-data": _b64(self.pki.admin_cert),
                        "client-key-data": _b64(self.pki.admin_key),
                    },
                }
            ],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
            "current-context": "e2e",
        }
        path.write_text(yaml.safe_dump(doc))
        path.chmod(0o600)
        return path

    def kubeconfig_text(self) -> str:
        return self.kubeconfig.read_text()

    def sample(self) -> None:
        for p in self.processes:
            p.sample()

    def check_alive(self) -> None:
        dead = [p for p in self.processes if not p.alive()]
        if dead:
            raise RuntimeError("; ".join(f"{p.name} exited ({p.proc.returncode}):\n{p.tail()}" for p in dead))

    def peak_rss_mib(self) -> dict[str, float]:
        self.sample()
        return {p.name: round(p.peak_rss_kib / 1024, 1) for p in self.processes}

    def stop(self) -> None:
        for p in reversed(self.processes):
            p.stop()
        if self.egress:
            self.egress.close()

    def wipe(self) -> None:
        shutil.rmtree(self.work / "etcd", ignore_errors=True)


def _b64(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode()


def _http_ok(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as r:
        return bool(r.status == 200)


def binaries_present(bin_dir: Path) -> list[str]:
    names = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]
    return [n for n in names if not os.access(bin_dir / n, os.X_OK)]


__all__ = ["SERVICE_IP", "LocalCluster", "binaries_present"]
