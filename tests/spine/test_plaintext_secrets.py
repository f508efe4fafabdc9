"""Issue 19 item 6: a plain-text secret key in a stack file is a spec error naming the `--secret` fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.loader import SpecError, read_stack_file, spec_from_stack_file
from tests.conftest import REPO


def _stack(tmp_path: Path, value: object) -> Path:
    doc = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    doc["config"]["inference-ra:hfToken"] = value
    path = tmp_path / "Pulumi.plain.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_rejects_plaintext_hf_token(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as exc:
        spec_from_stack_file(read_stack_file(str(_stack(tmp_path, "hf_" + "a" * 34))))
    assert [p.render() for p in exc.value.problems] == [
        "inference-ra:hfToken: is a credential and must be a Pulumi secret, not plain text in the stack file "
        "(remove it and run `pulumi config set --secret inference-ra:hfToken ...`)"
    ]


def test_secure_hf_token_is_accepted(tmp_path: Path) -> None:
    spec_from_stack_file(read_stack_file(str(_stack(tmp_path, {"secure": "v1:abc"}))))
