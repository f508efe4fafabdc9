"""Where `inference-ra graph` writes: `architecture-<stack>.svg/.png` in a directory that is not a plan directory
(synth replaces those as a whole, so a picture there would be lost). Each file is written beside its final name and
renamed into place, so a reader never sees half a picture; the temporary directory is removed on every exit path.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from stacks.output import MARKER, sigterm_as_exit


class PictureError(Exception):
    """The picture directory cannot be used; one line for the user, exit 2."""


def picture_dir(out_dir: Path) -> Path:
    if out_dir.is_symlink() and not out_dir.is_dir():
        raise PictureError(f"--out {out_dir} is a dangling symbolic link")
    if out_dir.exists() and not out_dir.is_dir():
        raise PictureError(f"--out {out_dir} is a file, not a directory")
    if (out_dir / MARKER).exists() or (out_dir / "plan.json").exists():
        raise PictureError(
            f"--out {out_dir} is a plan directory, which synth replaces as a whole: draw into another directory "
            "(default out/graphs)"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PictureError(f"--out {out_dir}: cannot create it: {exc.strerror or exc}") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise PictureError(f"--out {out_dir} is not writable")
    return out_dir


def write_pictures(plan_json: dict[str, Any], out_dir: Path, title: str) -> list[Path]:
    from stacks.graph import render

    target = picture_dir(out_dir)
    with sigterm_as_exit():
        tmp = Path(tempfile.mkdtemp(prefix=".graph-tmp-", dir=target))
        try:
            drawn = render(plan_json, tmp, title)
            final = []
            for path in drawn:
                os.chmod(path, 0o644)
                os.replace(path, target / path.name)
                final.append(target / path.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final
