"""Node acceptance: the driver, the GPUs, their memory health, NVLink, the RDMA fabric and local NVMe.

Each test asserts values the node's pool promises (tests/node/expectations.py); see docs/acceptance.md.
"""

from __future__ import annotations

import re

import pytest

from tests.node.conftest import Node
from tests.node.expectations import APPLICATION_XIDS, NodeExpectations

pytest.importorskip("testinfra", reason="the node suite needs pytest-testinfra (pip install pytest-testinfra)")

pytestmark = pytest.mark.gpu

DRIVER_RE = re.compile(r"Kernel Module(?: for \S+)?\s+(\d+)\.(\d+)(?:\.(\d+))?")
XID_RE = re.compile(r"NVRM: Xid \(([^)]*)\): (\d+)")


def smi_query(node: Node, fields: str) -> list[list[str]]:
    out = node.out(f"nvidia-smi --query-gpu={fields} --format=csv,noheader")
    return [[v.strip() for v in line.split(",")] for line in out.splitlines() if line.strip()]


def smi_sections(text: str, section: str) -> list[dict[str, str]]:
    """`nvidia-smi -q` text: the `key : value` lines of every occurrence of an indented section, one dict each."""
    found: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    depth = 0
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()
        if current is not None and stripped and indent <= depth:
            found.append(current)
            current = None
        if stripped == section:
            current, depth = {}, indent
            continue
        if current is not None and ":" in stripped:
            key, _, value = stripped.partition(":")
            current.setdefault(key.strip(), value.strip())
    if current is not None:
        found.append(current)
    return found


# ---- driver ---------------------------------------------------------------------------------------------------


def test_driver_loaded(gpu_node: Node) -> None:
    version = gpu_node.out("cat /proc/driver/nvidia/version")
    assert DRIVER_RE.search(version), f"NVIDIA kernel module not reported in /proc/driver/nvidia/version: {version!r}"
    smi = smi_query(gpu_node, "driver_version")
    assert smi and smi[0][0] == DRIVER_RE.search(version).group(0).split()[-1], (  # type: ignore[union-attr]
        f"nvidia-smi reports driver {smi} but the kernel module is {version.strip()!r}: user space and module differ"
    )


def test_driver_branch(gpu_node: Node, expect: NodeExpectations) -> None:
    if expect.driver_branch is None:
        pytest.skip("no driver branch expected (give --driver-branch or --stack)")
    match = DRIVER_RE.search(gpu_node.out("cat /proc/driver/nvidia/version"))
    assert match, "NVIDIA kernel module version not found"
    assert int(match.group(1)) == expect.driver_branch, (
        f"driver {match.group(0).split()[-1]} is on branch {match.group(1)}; {expect.source} expects "
        f"{expect.driver_branch} (gpuOperator.driver.version)"
    )


# ---- GPUs ---------------------------------------------------------------------------------------------------


def test_gpu_count_and_model(gpu_node: Node, expect: NodeExpectations) -> None:
    rows = smi_query(gpu_node, "index,name")
    names = [r[1] for r in rows]
    assert len(rows) == expect.gpus, f"{len(rows)} GPUs {names}; {expect.source} has {expect.gpus}x {expect.gpu}"
    wrong = [n for n in names if n not in expect.smi_names]
    assert not wrong, f"GPU model {wrong}; {expect.gpu} reports as {list(expect.smi_names)}"


def test_persistence_mode(gpu_node: Node) -> None:
    rows = smi_query(gpu_node, "index,persistence_mode")
    off = [r[0] for r in rows if r[1] != "Enabled"]
    assert not off, f"persistence mode off on GPU(s) {off}: enable nvidia-persistenced (the GPU Operator driver does)"


def test_ecc_enabled_without_uncorrectable_errors(gpu_node: Node) -> None:
    rows = smi_query(gpu_node, "index,ecc.mode.current,ecc.errors.uncorrected.volatile.total")
    off = [r[0] for r in rows if r[1] != "Enabled"]
    assert not off, f"ECC disabled on GPU(s) {off}"
    bad = {r[0]: r[2] for r in rows if r[2] != "0"}
    assert not bad, f"uncorrectable ECC errors since the last driver load, per GPU: {bad}"


def test_no_pending_page_retirement_or_row_remap_failure(gpu_node: Node) -> None:
    """Row remapping (Ampere and later) or page retirement (earlier): nothing pending, no failure, no overflow."""
    text = gpu_node.out("nvidia-smi -q -d ROW_REMAPPER,PAGE_RETIREMENT")
    sections = smi_sections(text, "Remapped Rows") + smi_sections(text, "Retired Pages")
    assert sections, f"neither 'Remapped Rows' nor 'Retired Pages' in nvidia-smi -q output:\n{text[:2000]}"
    bad = [
        f"{key}: {value}"
        for sec in sections
        for key, value in sec.items()
        if value == "Yes" and (key.startswith("Pending") or "Failure" in key)
    ]
    assert not bad, f"GPU memory needs a reset or an RMA: {bad}"


def test_no_recent_xid_errors(gpu_node: Node) -> None:
    for command in ("journalctl -k --since '-24 hours' --no-pager -q", "dmesg"):
        result = gpu_node.run(command)
        if result.rc == 0 and result.stdout.strip():
            log = result.stdout
            break
    else:
        pytest.skip("kernel log not readable (journalctl -k and dmesg both failed): XIDs not checked")
    xids = [(pci, int(code)) for pci, code in XID_RE.findall(log)]
    serious = [(pci, code) for pci, code in xids if code not in APPLICATION_XIDS]
    assert not serious, f"NVIDIA XID errors in the kernel log (PCI, XID): {serious}"


# ---- NVLink and NVSwitch ----------------------------------------------------------------------------------------


def test_nvlink_links_up(gpu_node: Node, expect: NodeExpectations) -> None:
    if expect.nvlink_links == 0:
        pytest.skip(f"no NVLink peers expected ({expect.gpus}x {expect.gpu})")
    text = gpu_node.out("nvidia-smi nvlink --status")
    per_gpu: dict[str, list[str]] = {}
    gpu = None
    for line in text.splitlines():
        if line.startswith("GPU "):
            gpu = line.split(":")[0]
            per_gpu[gpu] = []
        elif gpu and re.match(r"\s+Link \d+:", line):
            per_gpu[gpu].append(line.split(":", 1)[1].strip())
    assert len(per_gpu) == expect.gpus, f"nvidia-smi nvlink --status lists {len(per_gpu)} GPUs:\n{text[:2000]}"
    short = {
        g: sum(1 for s in links if "inactive" not in s.lower())
        for g, links in per_gpu.items()
        if sum(1 for s in links if "inactive" not in s.lower()) < expect.nvlink_links
    }
    assert not short, f"active NVLink links per GPU below {expect.nvlink_links}: {short}"


def test_nvswitch_fabric_ready(gpu_node: Node, expect: NodeExpectations) -> None:
    if not expect.nvswitch:
        pytest.skip(f"not an NVSwitch system ({expect.gpus}x {expect.gpu})")
    fabric = smi_sections(gpu_node.out("nvidia-smi -q"), "Fabric")
    assert len(fabric) >= expect.gpus, "nvidia-smi -q shows no GPU Fabric section (driver older than r530?)"
    bad = [f for f in fabric if f.get("State") != "Completed" or f.get("Status") != "Success"]
    assert not bad, (
        f"GPU fabric not ready {bad}: is nvidia-fabricmanager running (GPU Operator driver container or host "
        "service) and at the driver's version?"
    )


# ---- RDMA fabric and GPUDirect RDMA -----------------------------------------------------------------------------


def test_rdma_devices(gpu_node: Node, expect: NodeExpectations) -> None:
    if not expect.rdma:
        pytest.skip(f"fabric {expect.fabric}: no RDMA devices expected")
    if expect.fabric == "efa":
        assert gpu_node.has("fi_info"), "fi_info not found: the EFA installer (libfabric) is not on the node"
        out = gpu_node.out("fi_info -p efa -t FI_EP_RDM")
        domains = sorted(set(re.findall(r"domain:\s*(\S+)", out)))
        assert len(domains) >= expect.rails, f"{len(domains)} EFA RDM domains {domains}; expected {expect.rails}"
        return
    assert gpu_node.has("ibv_devinfo"), "ibv_devinfo not found: rdma-core/DOCA-OFED user space is not on the node"
    out = gpu_node.out("ibv_devinfo")
    ports = re.findall(r"hca_id:\s*(\S+)|state:\s*(\S+)|link_layer:\s*(\S+)", out)
    devices: dict[str, list[tuple[str, str]]] = {}
    dev = ""
    state = ""
    for hca, st, layer in ports:
        if hca:
            dev = hca
            devices[dev] = []
        elif st:
            state = st
        elif layer:
            devices[dev].append((state, layer))
    want = "InfiniBand" if expect.fabric == "infiniband" else "Ethernet"
    ready = [d for d, ps in devices.items() if any(s == "PORT_ACTIVE" and ll == want for s, ll in ps)]
    assert len(ready) >= expect.rails, f"{len(ready)} active {want} RDMA devices {ready} of {sorted(devices)}; "
    f"expected {expect.rails}"


def test_gpudirect_rdma(gpu_node: Node, expect: NodeExpectations) -> None:
    if not expect.rdma:
        pytest.skip(f"fabric {expect.fabric}: GPUDirect RDMA not needed")
    modules = gpu_node.out("cat /proc/modules")
    if re.search(r"^nvidia_peermem\s", modules, re.M):
        return
    version = gpu_node.out("cat /proc/driver/nvidia/version")
    kernel = gpu_node.out("uname -r").strip()
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", kernel).groups())  # type: ignore[union-attr]
    dmabuf = "Open Kernel Module" in version and (major, minor) >= (5, 12)
    assert dmabuf, (
        f"no GPUDirect RDMA path: nvidia_peermem is not loaded and dma-buf needs the open kernel module on "
        f"Linux >= 5.12 (kernel {kernel}, module: {version.splitlines()[0]!r})"
    )


# ---- local NVMe -----------------------------------------------------------------------------------------------------


def test_nvme_raid_mounted(node: Node, expect: NodeExpectations) -> None:
    if expect.nvme_mount is None:
        pytest.skip(f"{expect.source} uses no local NVMe RAID0")
    mdstat = node.out("cat /proc/mdstat")
    arrays = re.findall(r"^(md\S+)\s*:\s*active\s+raid0\s+(.*)$", mdstat, re.M)
    assert arrays, f"no active RAID0 array in /proc/mdstat:\n{mdstat}"
    source = node.out(f"findmnt -n -o SOURCE --mountpoint {expect.nvme_mount}").strip()
    assert source.startswith("/dev/md"), f"{expect.nvme_mount} is mounted from {source!r}, not an md RAID array"
    members = [a[1] for a in arrays]
    assert all("nvme" in m for m in members), f"RAID0 members are not NVMe devices: {members}"
