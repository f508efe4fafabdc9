"""The node suite on CI: it collects, and off a GPU host every GPU check is skipped with its reason, none passed."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from components.loader import read_stack_file, spec_from_stack_file
from tests.node.expectations import from_options, from_spec
from tests.node.test_node import smi_sections

REPO = Path(__file__).resolve().parents[2]
ON_GPU_HOST = os.path.exists("/dev/nvidiactl")


def run_suite(tmp_path: Path, *args: str) -> ET.Element:
    xml = tmp_path / "node.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "tests/node", "-p", "no:cacheprovider", f"--junitxml={xml}", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return ET.parse(xml).getroot()


@pytest.mark.skipif(ON_GPU_HOST, reason="this host has a GPU: the suite really runs here")
def test_off_a_gpu_host_gpu_checks_skip_with_the_reason(tmp_path: Path) -> None:
    cases = run_suite(tmp_path, "--hosts=local://").findall(".//testcase")
    assert len(cases) >= 12, "the node suite did not collect"
    outcomes = {c.get("name"): [e.tag for e in c] for c in cases}
    assert all(tags == ["skipped"] for tags in outcomes.values()), outcomes  # none passed, none failed
    reasons = {c.get("name"): c.find("skipped").get("message", "") for c in cases}  # type: ignore[union-attr]
    assert "not a GPU host" in reasons["test_gpu_count_and_model[local]"]
    assert "no expectations" in reasons["test_nvme_raid_mounted[local]"]


@pytest.mark.skipif(ON_GPU_HOST or os.path.exists("/proc/mdstat"), reason="needs a host without GPU and md RAID")
def test_with_a_pool_named_the_host_checks_still_run_off_a_gpu_host(tmp_path: Path) -> None:
    """GPU checks skip; the NVMe RAID check is not a GPU check: it runs, and this CI host has no array."""
    cases = run_suite(tmp_path, "--hosts=local://", "--stack", "aws-h100").findall(".//testcase")
    outcomes = {c.get("name"): next(e.tag for e in c) if len(c) else "passed" for c in cases}
    assert outcomes.pop("test_nvme_raid_mounted[local]") == "failure"
    assert set(outcomes.values()) == {"skipped"}


def test_expectations_of_the_shipped_pools() -> None:
    aws = from_spec(spec_from_stack_file(read_stack_file("aws-h100")), "h100")
    assert (aws.gpus, aws.fabric, aws.rails, aws.nvswitch, aws.nvme_mount, aws.driver_branch) == (
        8,
        "efa",
        32,
        True,
        "/mnt/nvme",
        580,
    )
    assert aws.smi_names == ("NVIDIA H100 80GB HBM3",) and aws.nvlink_links == 18
    ncp = spec_from_stack_file(read_stack_file("ncp-ib"))
    h200, gb200 = from_spec(ncp, "h200"), from_spec(ncp, "gb200")
    assert (h200.fabric, h200.rails, h200.gpus) == ("infiniband", 8, 8)
    assert (gb200.gpus, gb200.nvswitch, gb200.rails) == (4, True, 4)
    dev = from_spec(spec_from_stack_file(read_stack_file("dev")), "h100")
    assert (dev.fabric, dev.rails, dev.rdma) == ("tcp", 0, False)


def test_command_line_expectations() -> None:
    assert from_options(None) is None  # nothing named: GPU tests skip, never pass
    one = from_options(None, gpu="h100-sxm-80gb", gpus=1, driver_branch=580)
    assert one is not None and (one.nvswitch, one.nvlink_links, one.driver_branch, one.fabric) == (False, 0, 580, "tcp")
    four = from_options(one, gpus=4)
    assert four is not None and (four.nvswitch, four.nvlink_links) == (True, 18)
    with pytest.raises(KeyError, match="not in the GPU catalog"):
        from_options(None, gpu="h100-pcie", gpus=1)


def test_rejects_an_unknown_pool() -> None:
    with pytest.raises(KeyError, match="pool 'nope'"):
        from_spec(spec_from_stack_file(read_stack_file("dev")), "nope")


SMI_Q = """
GPU 00000000:00:06.0
    Fabric
        State                                          : Completed
        Status                                         : Success
        CliqueId                                       : 0
    Remapped Rows
        Correctable Error                              : 0
        Pending                                        : No
        Remapping Failure Occurred                     : Yes
        Bank Remap Availability Histogram
            Max                                        : 2560 bank(s)
GPU 00000000:00:07.0
    Fabric
        State                                          : In Progress
        Status                                         : N/A
"""


def test_nvidia_smi_sections_are_parsed_per_gpu() -> None:
    fabric = smi_sections(SMI_Q, "Fabric")
    assert [f["State"] for f in fabric] == ["Completed", "In Progress"]
    rows = smi_sections(SMI_Q, "Remapped Rows")
    assert rows == [
        {"Correctable Error": "0", "Pending": "No", "Remapping Failure Occurred": "Yes", "Max": "2560 bank(s)"}
    ]
