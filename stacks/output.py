"""Writing a plan to disk: plan.json, manifests/, report.md — byte-identical across runs, and never destructive.

The output directory is replaced as a whole, so the writer only ever replaces a directory it wrote itself (it carries
the marker file `.inference-ra`), an empty one, or a plan directory of an earlier version (plan.json of this
project and nothing but plan files). Anything else — a git checkout, a home directory, a file — is refused.

The new plan is written into a temporary sibling and swapped in atomically: on Linux with renameat2(RENAME_EXCHANGE)
(the old plan lands at the temporary path and is removed after), elsewhere with two renames whose gap leaves the old
plan recoverable (`.<name>.old-*`, restored by the next run). Temporary directories are removed on every exit path
(errors, Ctrl-C, SIGTERM); a SIGKILL's leftovers are swept by the next writer. A lock file beside the directory
(`.<name>.inference-ra.lock`, flock) makes a second concurrent writer stop with a clear message.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from components.charts import CHART_TYPES
from stacks.engine import Plan, Registration

MARKER = ".inference-ra"
MARKER_TEXT = (
    "inference-ra plan directory: `inference-ra synth` replaces it as a whole (plan.json, manifests/, report.md).\n"
    "Keep nothing else here.\n"
)
PLAN_ENTRIES = frozenset({"plan.json", "manifests", "report.md", MARKER})
_LEGACY_EXTRA = re.compile(r"^architecture-[A-Za-z0-9._-]+\.(svg|png)$")  # `graph` wrote here before it moved
# One path component of a manifest: a Kubernetes name (RFC 1123 subdomain; RBAC names may also hold `:`, e.g.
# ClusterRole `grove:system:grove-operator` of a chart) or `_x`.
_SAFE_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._:-]*$")


class OutputError(Exception):
    """The output location cannot be (or must not be) written; one line for the user, exit 2."""


def dump_yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True, width=120)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


# ----------------------------------------------------------------------------------------------- which objects
def is_k8s_object(r: Registration) -> bool:
    return r.custom and is_k8s_resource(r.type, r.inputs)


def is_k8s_resource(type_: str, inputs: Mapping[str, Any]) -> bool:
    """A Kubernetes object rendered to manifests/ (plan.json form: type token and inputs)."""
    return type_.startswith("kubernetes:") and type_ not in CHART_TYPES and "apiVersion" in inputs and "kind" in inputs


def k8s_objects(plan: Plan) -> Iterator[dict[str, Any]]:
    for r in sorted(plan.resources, key=lambda r: r.urn):
        if is_k8s_object(r):
            yield r.inputs


def manifest_path(obj: Mapping[str, Any], patch: bool = False) -> str:
    """`<namespace or _cluster>/<Kind>-<name>[.patch].yaml`; every component checked by `check_relpath`."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or "_cluster"
    suffix = ".patch" if patch else ""
    return check_relpath(f"{ns}/{obj['kind']}-{meta.get('name')}{suffix}.yaml")


def check_relpath(rel: str) -> str:
    """A manifest path built from names: relative, no `..`, no separators or odd characters inside a name."""
    parts = rel.split("/")
    if any(not _SAFE_PART.match(p) or p in (".", "..") or ".." in p for p in parts):
        raise OutputError(f"refusing to write manifests/{rel}: a name in it is not a safe path component")
    return rel


def manifest_entries(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Mapping[str, Any]]:
    """manifests/ relative path -> object, for (type token, inputs) pairs in URN order. Two objects on one path
    are an error (they would overwrite each other)."""
    entries: dict[str, Mapping[str, Any]] = {}
    for type_, inputs in resources:
        if not is_k8s_resource(type_, inputs):
            continue
        rel = manifest_path(inputs, patch=type_.endswith("Patch"))
        if rel in entries:
            raise OutputError(f"two objects render to manifests/{rel}")
        entries[rel] = inputs
    return entries


def plan_manifests(plan_json: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """What `write_plan` puts under manifests/ for a plan.json document (used by `validate --plan`)."""
    resources = sorted(plan_json.get("resources") or [], key=lambda r: str(r.get("urn", "")))
    return manifest_entries((str(r.get("type", "")), r.get("inputs") or {}) for r in resources)


def safe_join(root: Path, rel: str) -> Path:
    """`root/rel`, checked to stay under `root` (defence in depth behind the spec's name rules)."""
    path = root / check_relpath(rel)
    if not path.resolve().is_relative_to(root.resolve()):
        raise OutputError(f"refusing to write {rel}: outside {root}")
    return path


# ------------------------------------------------------------------------------------------------ the contents
def fill_plan_dir(root: Path, plan: Plan, report_md: str) -> None:
    (root / "plan.json").write_text(dump_json(plan.to_json()), encoding="utf-8")
    write_manifests(root / "manifests", plan)
    write_chart_objects(plan, root / "manifests")
    (root / "report.md").write_text(report_md, encoding="utf-8")


def write_manifests(root: Path, plan: Plan) -> None:
    records = sorted((r for r in plan.resources if r.custom), key=lambda r: r.urn)
    for rel, obj in manifest_entries((r.type, r.inputs) for r in records).items():
        path = safe_join(root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(obj), encoding="utf-8")


# --------------------------------------------------------------------------------------- where it may be written
def output_target(out_dir: Path) -> Path:
    """The absolute output path (parent resolved, the last component not followed), checked it may be replaced."""
    absolute = Path(os.path.abspath(out_dir))
    if absolute == absolute.parent:
        raise OutputError(f"--out {out_dir} is the filesystem root")
    parent = _ensure_parent(absolute.parent, out_dir)
    target = parent / absolute.name
    check_replaceable(target, out_dir)
    return target


def preflight(out_dir: Path) -> None:
    """The checks of `output_target` without creating anything: run before the (slow) synth, so a refused --out
    fails fast and a bad config leaves no directory behind."""
    absolute = Path(os.path.abspath(out_dir))
    if absolute == absolute.parent:
        raise OutputError(f"--out {out_dir} is the filesystem root")
    existing = absolute.parent
    while not existing.exists():
        if existing.is_symlink() or existing == existing.parent:
            raise OutputError(f"--out {out_dir}: {existing} is a dangling link")
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"--out {out_dir}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out_dir}: {existing} is not writable")
    if existing == absolute.parent:
        check_replaceable(existing.resolve() / absolute.name, out_dir)


def _ensure_parent(parent: Path, shown: Path) -> Path:
    try:
        parent.mkdir(parents=True, exist_ok=True)
        resolved = parent.resolve(strict=True)
    except OSError as exc:
        raise OutputError(f"--out {shown}: cannot create {parent}: {exc.strerror or exc}") from None
    if not resolved.is_dir():
        raise OutputError(f"--out {shown}: {parent} is not a directory")
    if not os.access(resolved, os.W_OK | os.X_OK):
        raise OutputError(f"--out {shown}: {resolved} is not writable")
    return resolved


def check_replaceable(target: Path, shown: Path | str) -> None:
    if target.is_symlink():
        raise OutputError(f"--out {shown} is a symbolic link; give the directory itself")
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"--out {shown} is a file, not a directory")
    if not is_plan_dir(target):
        raise OutputError(
            f"--out {shown} holds files inference-ra did not write (no {MARKER} marker): refusing to replace it; "
            "give a new or empty directory"
        )


def is_plan_dir(path: Path) -> bool:
    """A directory the writer may replace: its own (marker), an empty one, or an earlier version's plan dir."""
    try:
        entries = {p.name for p in path.iterdir()}
    except OSError:
        return False
    if not entries:
        return True
    if (path / MARKER).is_file() and not (path / MARKER).is_symlink():
        return True
    return _is_legacy_plan_dir(path, entries)


def _is_legacy_plan_dir(path: Path, entries: set[str]) -> bool:
    if "plan.json" not in entries or any(e not in PLAN_ENTRIES and not _LEGACY_EXTRA.match(e) for e in entries):
        return False
    try:
        doc = json.loads((path / "plan.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("project") == "inference-ra" and isinstance(doc.get("resources"), list)


# --------------------------------------------------------------------------------------------- lock and cleanup
@contextlib.contextmanager
def writer_lock(target: Path) -> Iterator[None]:
    """An exclusive flock beside the target; a second writer fails at once with a clear message."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, still atomic
        yield
        return
    lock_path = target.parent / f".{target.name}.inference-ra.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"another inference-ra process is writing {target} right now (lock {lock_path.name} is held); "
                "wait for it to finish or give another --out"
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit while writing, so `finally` blocks remove temporary directories."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _leftovers(target: Path, kind: str) -> list[Path]:
    return sorted(
        (p for p in target.parent.glob(f".{glob_escape(target.name)}.{kind}-*") if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.stat().st_mtime,
    )


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def sweep_leftovers(target: Path) -> None:
    """Under the lock: restore a plan an interrupted fallback swap left aside, remove stale temporary dirs."""
    olds = [p for p in _leftovers(target, "old") if (p / MARKER).is_file() or is_plan_dir(p)]
    if olds and not os.path.lexists(target):
        os.rename(olds.pop(), target)
    for stale in [*olds, *_leftovers(target, "tmp")]:
        if (stale / MARKER).is_file():
            shutil.rmtree(stale, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------ the swap
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE). False when the platform or filesystem cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False  # glibc < 2.28 or another libc without the wrapper
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(new: Path, target: Path) -> None:
    """Put `new` at `target`; the previous `target` (if any) ends up at `new`'s path for the caller to remove."""
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    if exchange(new, target):
        return
    aside = target.parent / f".{target.name}.old-{os.getpid()}"
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    os.rename(aside, new)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_chart_objects(plan: Plan, manifests: Path) -> None:
    """Rendered chart objects (stacks/charts) as manifests/_charts/<release>/<ns or _cluster>/<kind>-<name>.yaml."""
    if plan.charts is None:
        return
    for written in plan.charts.written.values():
        for w in written:
            path = safe_join(manifests, w.file)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(w.text, encoding="utf-8")


def write_plan(plan: Plan, out_dir: Path, report_md: str) -> Path:
    """Write the plan next to `out_dir`, then swap it in atomically. Raises OutputError for a refused target."""
    return write_tree(out_dir, lambda tmp: fill_plan_dir(tmp, plan, report_md))


def write_tree(out_dir: Path, fill: Callable[[Path], None], marker_text: str = MARKER_TEXT) -> Path:
    """Fill a temporary sibling of `out_dir` (with the marker), then swap it in atomically: the writer of every
    directory inference-ra replaces as a whole (plan directories, `export` directories)."""
    target = output_target(out_dir)
    with writer_lock(target), sigterm_as_exit():
        check_replaceable(target, out_dir)  # again under the lock: another writer may have changed it
        sweep_leftovers(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700; a plan dir is as readable as any other
            (tmp / MARKER).write_text(marker_text, encoding="utf-8")
            fill(tmp)
            swap_in(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the new dir on failure, the previous plan on success
    return target
