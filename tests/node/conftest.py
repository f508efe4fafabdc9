"""Node acceptance suite: options, the node under test, and what it must show.

    pytest tests/node --hosts=ssh://root@gpu-node-1 --stack ncp-ib --pool h200
    pytest tests/node --hosts=local:// --gpu h100-sxm-80gb --gpus 8 --driver-branch 580
    pytest tests/node --hosts='kubectl://node-debugger-x?namespace=default' --node-root /host --stack dev

Off a GPU host every GPU check is skipped with the reason; nothing is reported as passed that was not checked.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from tests.node.expectations import NodeExpectations, from_options, from_stack


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("inference-ra node acceptance")
    group.addoption("--stack", help="stack name or Pulumi.<stack>.yaml path whose pool the node belongs to")
    group.addoption("--pool", help="GPU pool of the node (default: the stack's only pool)")
    group.addoption("--gpu", dest="expect_gpu", help="catalog GPU key the node must have (overrides the stack)")
    group.addoption("--gpus", dest="expect_gpus", type=int, help="GPUs the node must have (overrides the stack)")
    group.addoption("--driver-branch", type=int, help="NVIDIA driver branch, e.g. 580 (overrides the stack)")
    group.addoption("--fabric", choices=["efa", "infiniband", "roce", "tcp"], help="fabric (overrides the stack)")
    group.addoption("--rails", type=int, help="RDMA devices the node must have (overrides the stack)")
    group.addoption("--nvswitch", choices=["yes", "no"], help="GPUs joined by NVSwitch (default: from the catalog)")
    group.addoption("--nvme-mount", help="where the NVMe RAID0 must be mounted, or 'none' (overrides the stack)")
    group.addoption(
        "--node-root",
        help="run every command under `chroot DIR` (a kubectl debug pod sees the node's root at /host)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs an NVIDIA GPU host (node suite)")


def _opt(config: pytest.Config, name: str) -> Any:
    try:
        return config.getoption(name)
    except ValueError:  # options unregistered when tests/node is not an initial path (plain `pytest`)
        return None


@pytest.fixture(scope="session")
def expected(pytestconfig: pytest.Config) -> NodeExpectations | None:
    stack = _opt(pytestconfig, "stack")
    base = from_stack(stack, _opt(pytestconfig, "pool")) if stack else None
    nvswitch = _opt(pytestconfig, "nvswitch")
    return from_options(
        base,
        gpu=_opt(pytestconfig, "expect_gpu"),
        gpus=_opt(pytestconfig, "expect_gpus"),
        driver_branch=_opt(pytestconfig, "driver_branch"),
        fabric=_opt(pytestconfig, "fabric"),
        rails=_opt(pytestconfig, "rails"),
        nvswitch=None if nvswitch is None else nvswitch == "yes",
        nvme_mount=_opt(pytestconfig, "nvme_mount"),
    )


@pytest.fixture
def expect(expected: NodeExpectations | None) -> NodeExpectations:
    if expected is None:
        pytest.skip("no expectations: name the node's pool (--stack/--pool) or give --gpu and --gpus")
    return expected


class Node:
    """The host under test, through testinfra's backend; commands optionally chrooted into the node's root."""

    def __init__(self, host: Any, root: str | None) -> None:
        self.host = host
        self.root = root

    def run(self, command: str) -> Any:
        if self.root:
            command = f"chroot {shlex.quote(self.root)} /bin/sh -c {shlex.quote(command)}"
        return self.host.run(command)

    def out(self, command: str) -> str:
        result = self.run(command)
        assert result.rc == 0, f"`{command}` failed (rc {result.rc}): {result.stderr.strip() or result.stdout.strip()}"
        return str(result.stdout)

    def has(self, program: str) -> bool:
        return bool(self.run(f"command -v {shlex.quote(program)}").rc == 0)

    @property
    def name(self) -> str:
        result = self.run("hostname")
        return result.stdout.strip() if result.rc == 0 else "the host"


@pytest.fixture(scope="module")
def node(host: Any, pytestconfig: pytest.Config) -> Node:
    return Node(host, _opt(pytestconfig, "node_root"))


@pytest.fixture(scope="module")
def gpu_node(node: Node) -> Node:
    """The node, if it is a GPU host; otherwise every test that needs one is skipped, saying why."""
    missing = [
        what
        for what, ok in (
            ("/dev/nvidiactl", node.run("test -e /dev/nvidiactl").rc == 0),
            ("nvidia-smi", node.has("nvidia-smi")),
        )
        if not ok
    ]
    if missing:
        pytest.skip(f"not a GPU host: {' and '.join(missing)} not found on {node.name}")
    return node
