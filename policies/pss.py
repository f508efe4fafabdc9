"""The Kubernetes Pod Security Standards (PSS), as checks over one pod spec.

Source: https://kubernetes.io/docs/concepts/security/pod-security-standards/ (policy version "latest" as of
Kubernetes 1.33, the version the shipped stacks run), cross-read with the admission controller that enforces it,
kubernetes/kubernetes staging/src/k8s.io/pod-security-admission/policy/check_*.go. Each check below names the
control of that page it implements (the page's section: "Baseline" / "Restricted", then the control name) and the
`check_*.go` file that enforces it. No maintained Python implementation exists on PyPI (the one package describing
itself as a PSS auditor, `k8s-policy-guard` 1.0.0, is a single unranked release), so the controls are written here.

Scope, as the admission controller has it: `spec.containers`, `spec.initContainers` and `spec.ephemeralContainers`
are all checked; pods with `spec.os.name: windows` skip the Linux-only restricted controls (allowPrivilegeEscalation,
seccomp, capabilities), as the page's "Pod OS field" note says. Not implemented: the user-namespace relaxation of
`runAsNonRoot`/`runAsUser` (behind the alpha feature gate UserNamespacesPodSecurityStandards, off by default) and the
1.34+ controls (probe/lifecycle `host`), which a 1.33 API server does not enforce.

Pure functions over plain mappings (manifest form, camelCase): no Kubernetes client, no engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
LEVELS: tuple[str, ...] = ("privileged", "baseline", "restricted")  # loosest first
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"

# Baseline "Capabilities": what may be added (the container runtime's default set).
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# Baseline "Sysctls": the safe set (1.27 added ip_local_reserved_ports, 1.29 the keepalive/fin ones, 1.32 rmem/wmem).
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
# Baseline "SELinux": allowed types (container_engine_t since 1.31).
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
# Restricted "Volume Types": the only volume sources allowed.
RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
_VOLUME_META = frozenset({"name"})


@dataclass(frozen=True)
class Violation:
    """One failed control: which, at what level, where in the pod spec, and what was found."""

    level: str  # baseline | restricted
    control: str  # the control's name on the PSS page
    path: str  # field path relative to the pod spec
    detail: str

    def __str__(self) -> str:
        return f"{self.control} ({self.level}): {self.path} {self.detail}"


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def containers(pod: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, container) of every container kind the admission controller visits."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(_seq(pod.get(key))):
            if isinstance(c, Mapping):
                yield f"{key}[{i}]", c


def _windows(pod: Mapping[str, Any]) -> bool:
    return _map(pod.get("os")).get("name") == "windows"


# ---------------------------------------------------------------------------------------------- baseline
def host_process(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "HostProcess": windowsOptions.hostProcess undefined or false (check_windowsHostProcess.go)."""
    if _map(_map(pod.get("securityContext")).get("windowsOptions")).get("hostProcess") is True:
        yield Violation("baseline", "HostProcess", "securityContext.windowsOptions.hostProcess", "is true")
    for path, c in containers(pod):
        if _map(_map(c.get("securityContext")).get("windowsOptions")).get("hostProcess") is True:
            yield Violation("baseline", "HostProcess", f"{path}.securityContext.windowsOptions.hostProcess", "is true")


def host_namespaces(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "Host Namespaces": hostNetwork, hostPID, hostIPC undefined or false (check_hostNamespaces.go)."""
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key) is True:
            yield Violation("baseline", "Host Namespaces", key, "is true")


def privileged_containers(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "Privileged Containers": securityContext.privileged undefined or false (check_privileged.go)."""
    for path, c in containers(pod):
        if _map(c.get("securityContext")).get("privileged") is True:
            yield Violation("baseline", "Privileged Containers", f"{path}.securityContext.privileged", "is true")


def baseline_capabilities(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "Capabilities": capabilities.add only from the default set (check_capabilities_baseline.go)."""
    for path, c in containers(pod):
        added = [str(x) for x in _seq(_map(_map(c.get("securityContext")).get("capabilities")).get("add"))]
        bad = sorted({a for a in added if a not in BASELINE_CAPABILITIES})
        if bad:
            yield Violation("baseline", "Capabilities", f"{path}.securityContext.capabilities.add", f"adds {bad}")


def host_path_volumes(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "HostPath Volumes": volumes[*].hostPath undefined (check_hostPathVolumes.go)."""
    for i, vol in enumerate(_seq(pod.get("volumes"))):
        if isinstance(vol, Mapping) and vol.get("hostPath") is not None:
            yield Violation("baseline", "HostPath Volumes", f"volumes[{i}].hostPath", f"({vol.get('name')}) is set")


def host_ports(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "Host Ports": ports[*].hostPort undefined or 0 (check_hostPorts.go)."""
    for path, c in containers(pod):
        for j, port in enumerate(_seq(c.get("ports"))):
            if isinstance(port, Mapping) and port.get("hostPort") not in (None, 0):
                yield Violation("baseline", "Host Ports", f"{path}.ports[{j}].hostPort", f"is {port.get('hostPort')}")


def app_armor(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "AppArmor": profile type RuntimeDefault or Localhost (not Unconfined), and the beta annotations
    runtime/default or localhost/* (check_appArmorProfile.go)."""
    allowed_types = {None, "RuntimeDefault", "Localhost"}
    if _map(_map(pod.get("securityContext")).get("appArmorProfile")).get("type") not in allowed_types:
        yield Violation("baseline", "AppArmor", "securityContext.appArmorProfile.type", "is not allowed")
    for path, c in containers(pod):
        if _map(_map(c.get("securityContext")).get("appArmorProfile")).get("type") not in allowed_types:
            yield Violation("baseline", "AppArmor", f"{path}.securityContext.appArmorProfile.type", "is not allowed")
    for key, value in sorted(_map(meta.get("annotations")).items()):
        beta = key.startswith("container.apparmor.security.beta.kubernetes.io/")
        if beta and not (value == "runtime/default" or str(value).startswith("localhost/")):
            yield Violation("baseline", "AppArmor", f"metadata.annotations[{key}]", f"is {value!r}")


def se_linux(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "SELinux": type in the allowed set, user and role unset (check_seLinuxOptions.go)."""
    sources = [("securityContext", _map(pod.get("securityContext")))]
    sources += [(f"{p}.securityContext", _map(c.get("securityContext"))) for p, c in containers(pod)]
    for path, sc in sources:
        opts = sc.get("seLinuxOptions")
        if not isinstance(opts, Mapping):
            continue
        if str(opts.get("type") or "") not in SELINUX_TYPES:
            yield Violation("baseline", "SELinux", f"{path}.seLinuxOptions.type", f"is {opts.get('type')!r}")
        for key in ("user", "role"):
            if opts.get(key):
                yield Violation("baseline", "SELinux", f"{path}.seLinuxOptions.{key}", "is set")


def proc_mount(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "/proc Mount Type": procMount undefined or Default (check_procMount.go)."""
    for path, c in containers(pod):
        value = _map(c.get("securityContext")).get("procMount")
        if value not in (None, "Default"):
            yield Violation("baseline", "/proc Mount Type", f"{path}.securityContext.procMount", f"is {value!r}")


def baseline_seccomp(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "Seccomp": seccompProfile.type not Unconfined (check_seccompProfile_baseline.go)."""
    if _map(_map(pod.get("securityContext")).get("seccompProfile")).get("type") == "Unconfined":
        yield Violation("baseline", "Seccomp", "securityContext.seccompProfile.type", "is Unconfined")
    for path, c in containers(pod):
        if _map(_map(c.get("securityContext")).get("seccompProfile")).get("type") == "Unconfined":
            yield Violation("baseline", "Seccomp", f"{path}.securityContext.seccompProfile.type", "is Unconfined")


def sysctls(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Baseline "Sysctls": only the safe set (check_sysctls.go)."""
    for i, s in enumerate(_seq(_map(pod.get("securityContext")).get("sysctls"))):
        name = _map(s).get("name")
        if name not in SAFE_SYSCTLS:
            yield Violation("baseline", "Sysctls", f"securityContext.sysctls[{i}].name", f"{name!r} is not safe")


# ---------------------------------------------------------------------------------------------- restricted
def volume_types(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Restricted "Volume Types": only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim,
    projected, secret (check_restrictedVolumes.go)."""
    for i, vol in enumerate(_seq(pod.get("volumes"))):
        if not isinstance(vol, Mapping):
            continue
        kinds = sorted(k for k in vol if k not in _VOLUME_META and vol.get(k) is not None)
        bad = [k for k in kinds if k not in RESTRICTED_VOLUMES]
        if bad:
            yield Violation("restricted", "Volume Types", f"volumes[{i}]", f"({vol.get('name')}) uses {bad}")


def privilege_escalation(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Restricted "Privilege Escalation": allowPrivilegeEscalation must be false, explicitly
    (check_allowPrivilegeEscalation.go); not applied to Windows pods."""
    if _windows(pod):
        return
    for path, c in containers(pod):
        if _map(c.get("securityContext")).get("allowPrivilegeEscalation") is not False:
            yield Violation(
                "restricted", "Privilege Escalation", f"{path}.securityContext.allowPrivilegeEscalation", "is not false"
            )


def run_as_non_root(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Restricted "Running as Non-root": runAsNonRoot true on the pod, or on every container; never false
    (check_runAsNonRoot.go)."""
    pod_value = _map(pod.get("securityContext")).get("runAsNonRoot")
    if pod_value is False:
        yield Violation("restricted", "Running as Non-root", "securityContext.runAsNonRoot", "is false")
    for path, c in containers(pod):
        value = _map(c.get("securityContext")).get("runAsNonRoot")
        if value is False:
            yield Violation("restricted", "Running as Non-root", f"{path}.securityContext.runAsNonRoot", "is false")
        elif value is None and pod_value is not True:
            yield Violation(
                "restricted", "Running as Non-root", f"{path}.securityContext.runAsNonRoot", "is unset (pod: unset)"
            )


def run_as_user(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Restricted "Running as Non-root user": runAsUser not 0 (check_runAsUser.go)."""
    if _map(pod.get("securityContext")).get("runAsUser") == 0:
        yield Violation("restricted", "Running as Non-root user", "securityContext.runAsUser", "is 0")
    for path, c in containers(pod):
        if _map(c.get("securityContext")).get("runAsUser") == 0:
            yield Violation("restricted", "Running as Non-root user", f"{path}.securityContext.runAsUser", "is 0")


def restricted_seccomp(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Restricted "Seccomp": RuntimeDefault or Localhost on the pod, or on every container
    (check_seccompProfile_restricted.go); not applied to Windows pods."""
    if _windows(pod):
        return
    ok = {"RuntimeDefault", "Localhost"}
    pod_type = _map(_map(pod.get("securityContext")).get("seccompProfile")).get("type")
    if pod_type is not None and pod_type not in ok:
        yield Violation("restricted", "Seccomp", "securityContext.seccompProfile.type", f"is {pod_type!r}")
    for path, c in containers(pod):
        ctype = _map(_map(c.get("securityContext")).get("seccompProfile")).get("type")
        if ctype is not None and ctype not in ok:
            yield Violation("restricted", "Seccomp", f"{path}.securityContext.seccompProfile.type", f"is {ctype!r}")
        elif ctype is None and pod_type is None:
            yield Violation(
                "restricted", "Seccomp", f"{path}.securityContext.seccompProfile.type", "is unset (pod: unset)"
            )


def restricted_capabilities(pod: Mapping[str, Any], meta: Mapping[str, Any]) -> Iterator[Violation]:
    """Restricted "Capabilities": drop ALL, add at most NET_BIND_SERVICE (check_capabilities_restricted.go); not
    applied to Windows pods."""
    if _windows(pod):
        return
    for path, c in containers(pod):
        caps = _map(_map(c.get("securityContext")).get("capabilities"))
        if "ALL" not in [str(x) for x in _seq(caps.get("drop"))]:
            yield Violation("restricted", "Capabilities", f"{path}.securityContext.capabilities.drop", "lacks ALL")
        added = sorted({str(x) for x in _seq(caps.get("add"))} - {"NET_BIND_SERVICE"})
        if added:
            yield Violation("restricted", "Capabilities", f"{path}.securityContext.capabilities.add", f"adds {added}")


Check = Callable[[Mapping[str, Any], Mapping[str, Any]], Iterator[Violation]]
BASELINE: tuple[Check, ...] = (
    host_process,
    host_namespaces,
    privileged_containers,
    baseline_capabilities,
    host_path_volumes,
    host_ports,
    app_armor,
    se_linux,
    proc_mount,
    baseline_seccomp,
    sysctls,
)
RESTRICTED: tuple[Check, ...] = (
    volume_types,
    privilege_escalation,
    run_as_non_root,
    run_as_user,
    restricted_seccomp,
    restricted_capabilities,
)


def check_pod(pod: Mapping[str, Any], level: str, metadata: Mapping[str, Any] | None = None) -> list[Violation]:
    """Every control of `level` (cumulative: restricted includes baseline) the pod spec fails."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security Standards level {level!r}: one of {', '.join(LEVELS)}")
    if level == "privileged":
        return []
    meta = metadata or {}
    checks = BASELINE + (RESTRICTED if level == "restricted" else ())
    return [v for check in checks for v in check(pod, meta)]


def minimal_level(pod: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> str:
    """The strictest level that admits the pod."""
    for level in reversed(LEVELS):
        if not check_pod(pod, level, metadata):
            return level
    return "privileged"


def stricter(a: str, b: str) -> bool:
    """True when level `a` is stricter than level `b`."""
    return LEVELS.index(a) > LEVELS.index(b)
