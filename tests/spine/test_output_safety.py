"""Writing out/: never destroys what the tool did not write, swaps atomically, locks, cleans up (issue 18, 1-2)."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stacks import output
from stacks.cli import app
from stacks.report import render_report
from tests.conftest import shipped_plan

runner = CliRunner()


def _synth(out: Path) -> object:
    return runner.invoke(app, ["synth", "dev", "--out", str(out)])


def test_rejects_out_dir_holding_a_git_repo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "precious.txt").write_text("keep me")
    result = _synth(repo)
    assert result.exit_code == 2, result.output
    assert "did not write" in result.output and "Traceback" not in result.output
    assert (repo / "precious.txt").read_text() == "keep me" and (repo / ".git").is_dir()


def test_rejects_out_dir_with_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.md").write_text("x")
    assert _synth(out).exit_code == 2
    assert (out / "notes.md").read_text() == "x"


def test_rejects_out_pointing_at_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("data")
    result = _synth(target)
    assert result.exit_code == 2
    assert "is a file" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert target.read_text() == "data"


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_rejects_unwritable_out(tmp_path: Path, where: str) -> None:
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" / "sub" if where == "under-a-file" else Path("/proc/inference-ra-test/out")
    result = _synth(out)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_rejects_out_that_is_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep").write_text("x")
    (tmp_path / "link").symlink_to(real)
    assert _synth(tmp_path / "link").exit_code == 2
    assert (real / "keep").is_file()


def test_replaces_its_own_output_and_marks_it(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    assert _synth(out).exit_code == 0
    assert (out / output.MARKER).is_file()
    (out / "manifests" / "stale.yaml").write_text("old")
    assert _synth(out).exit_code == 0
    assert not (out / "manifests" / "stale.yaml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dev.inference-ra.lock", "dev"]


def test_replaces_a_plan_dir_of_an_earlier_version(tmp_path: Path) -> None:
    """Plan dirs written before the marker existed (plan.json of this project, plan files only) are replaceable."""
    out = tmp_path / "dev"
    out.mkdir()
    (out / "plan.json").write_text('{"project": "inference-ra", "stack": "dev", "resources": []}')
    (out / "report.md").write_text("old")
    (out / "architecture-dev.svg").write_text("<svg/>")
    assert _synth(out).exit_code == 0
    assert (out / output.MARKER).is_file()


def test_interrupt_during_swap_keeps_the_previous_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt between taking the old plan away and putting the new one in place must leave a plan there."""
    plan = shipped_plan("dev")
    out = tmp_path / "dev"
    output.write_plan(plan, out, render_report(plan))
    before = (out / "plan.json").read_bytes()
    monkeypatch.setattr(output, "exchange", lambda a, b: False, raising=False)  # force the portable swap
    real_rename, calls = os.rename, []

    def interrupted(src: object, dst: object) -> None:
        calls.append((src, dst))
        if len(calls) == 2:  # the new plan is about to move in
            raise KeyboardInterrupt
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", interrupted)
    monkeypatch.setattr(Path, "rename", lambda self, dst: interrupted(self, dst))
    with pytest.raises(KeyboardInterrupt):
        output.write_plan(plan, out, "changed report")
    monkeypatch.undo()
    assert (out / "plan.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name] == []


def test_exchange_swaps_directories_atomically(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not output.exchange(a, b):
        pytest.skip("this filesystem has no RENAME_EXCHANGE (the portable swap is tested above)")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_stale_temporary_dirs_are_swept(tmp_path: Path) -> None:
    """A writer killed with SIGKILL leaves its temporary dir; the next writer removes it."""
    stale = tmp_path / ".dev.tmp-killed"
    stale.mkdir()
    (stale / output.MARKER).write_text(output.MARKER_TEXT)
    (stale / "plan.json").write_text("{")
    assert _synth(tmp_path / "dev").exit_code == 0
    assert not stale.exists()


def test_failed_write_leaves_no_temporary_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = shipped_plan("dev")

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(output, "fill_plan_dir", boom, raising=False)
    monkeypatch.setattr(output, "dump_yaml", boom)
    with pytest.raises(RuntimeError):
        output.write_plan(plan, tmp_path / "dev", "r")
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []


def test_concurrent_writer_gets_a_clear_message(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    assert _synth(out).exit_code == 0
    lock = tmp_path / ".dev.inference-ra.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = _synth(out)
    finally:
        os.close(fd)
    assert result.exit_code == 2
    assert "another inference-ra process is writing" in result.output
    assert (out / "plan.json").is_file()


def test_manifest_paths_stay_under_out(tmp_path: Path) -> None:
    with pytest.raises(output.OutputError):
        output.manifest_path({"kind": "ConfigMap", "metadata": {"name": "../../escape", "namespace": "x"}})
    with pytest.raises(output.OutputError):
        output.manifest_path({"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "../x"}})
    with pytest.raises(output.OutputError):
        output.safe_join(tmp_path, "../x.yaml")


def test_graph_output_survives_a_later_synth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    drawn = runner.invoke(app, ["graph", "dev"])
    assert drawn.exit_code == 0, drawn.output
    pictures = sorted(p for p in (tmp_path / "out").rglob("architecture-dev.*"))
    assert len(pictures) == 2
    assert runner.invoke(app, ["synth", "dev"]).exit_code == 0
    assert all(p.is_file() for p in pictures)


def test_graph_refuses_to_draw_into_a_plan_dir(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    assert _synth(out).exit_code == 0
    result = runner.invoke(app, ["graph", "dev", "--out", str(out)])
    assert result.exit_code == 2 and "synth replaces" in result.output


def test_sigterm_while_writing_unwinds_through_cleanup() -> None:
    """SIGTERM becomes SystemExit inside the writer, so its `finally` removes the temporary directory."""
    import signal

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as info, output.sigterm_as_exit():
        os.kill(os.getpid(), signal.SIGTERM)
    assert info.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before
