"""Scoped exemptions from the pack's pod hardening: what a pod may have beyond `restricted`, and why.

Each exemption is a small function of one pod template (policies.workloads.PodView) returning the capabilities it
grants that pod; `granted_capabilities` unions them. A pod granted capabilities may add exactly those, and its
containers that add them may run as root: Kubernetes gives added capabilities only to root processes (it sets no
ambient capabilities: kubernetes/kubernetes#56374), so a non-root container would not hold them. Everything else of
`restricted` still applies (drop ALL, no privilege escalation, RuntimeDefault seccomp, restricted volume types).

Add an exemption here as its own function, scoped to the pods that need it (the extended resource they request,
their role), and list it in EXEMPTIONS; docs/policy.md names each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable

from policies.workloads import PodView

# Extended resources that put RDMA devices in a pod: EFA, the RDMA shared device plugin, SR-IOV.
RDMA_RESOURCE_PREFIXES: tuple[str, ...] = ("vpc.amazonaws.com/efa", "rdma/", "nvidia.com/rdma", "nvidia.com/sriov")


def requests_rdma(pod: PodView) -> bool:
    return any(
        r.startswith(RDMA_RESOURCE_PREFIXES)
        for c in pod.containers
        for r in (*c.resources("limits"), *c.resources("requests"))
    )


def rdma_memory_lock(pod: PodView) -> frozenset[str]:
    """IPC_LOCK for pods that request RDMA devices: registering memory with the NIC pins it (mlock) beyond the
    container's RLIMIT_MEMLOCK (NVIDIA Network Operator and EFA device plugin examples add it)."""
    return frozenset({"IPC_LOCK"}) if requests_rdma(pod) else frozenset()


Exemption = Callable[[PodView], frozenset[str]]
EXEMPTIONS: list[Exemption] = [rdma_memory_lock]


def granted_capabilities(pod: PodView) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for exemption in EXEMPTIONS:
        out |= exemption(pod)
    return out
