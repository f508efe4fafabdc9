"""Scoped exemptions from the pack's pod hardening: what a pod may have beyond `restricted`, and why.

Two kinds, each a small named function scoped to the pods that need it (docs/policy.md names each with its reason):

- capability grants, `(pod) -> capabilities` listed in EXEMPTIONS and unioned by `granted_capabilities`. A pod granted
  capabilities may add exactly those, and its containers that add them may run as root: Kubernetes gives added
  capabilities only to root processes (it sets no ambient capabilities: kubernetes/kubernetes#56374), so a non-root
  container would not hold them. Everything else of `restricted` still applies (drop ALL, no privilege escalation,
  RuntimeDefault seccomp, restricted volume types).
- `efa_nixl_worker(pod, container)`: on AWS EFA, Dynamo's disaggregated workers register GPU memory with the EFA NIC
  through NIXL's LIBFABRIC backend, which needs a privileged container (Dynamo docs/kubernetes/cloud-providers/eks/
  efa.md, "Pod Resource Requests": "privileged: true is required for NIXL to register CUDA VRAM with the EFA NIC via
  fi_mr_reg. IPC_LOCK alone is insufficient"). The exemption covers exactly those containers and only
  `privileged: true`: the `main` container of a DynamoGraphDeployment `prefill` or `decode` component that requests
  `vpc.amazonaws.com/efa`. hostNetwork/hostPID/hostIPC, hostPath volumes and SYS_ADMIN stay forbidden for them, and
  every other pod keeps the rule. The trade-off is stated in docs/fabric.md.
"""

from __future__ import annotations

from collections.abc import Callable

from policies.workloads import Container, PodView

EFA_RESOURCE = "vpc.amazonaws.com/efa"
NIXL_ROLES = frozenset({"prefill", "decode"})
# Extended resources that put RDMA devices in a pod: EFA, the RDMA shared device plugin, SR-IOV.
RDMA_RESOURCE_PREFIXES: tuple[str, ...] = (EFA_RESOURCE, "rdma/", "nvidia.com/rdma", "nvidia.com/sriov")


def efa_nixl_worker(pod: PodView, container: Container) -> bool:
    """Whether `container` is a Dynamo NIXL worker on EFA, allowed to run privileged."""
    if pod.role not in NIXL_ROLES or container.name != "main" or container.init:
        return False
    if not pod.path.startswith("spec.components["):  # a v1beta1 DynamoGraphDeployment component
        return False
    wants = (container.resources("limits").get(EFA_RESOURCE), container.resources("requests").get(EFA_RESOURCE))
    return any(str(v).strip() not in ("", "0", "None") for v in wants)


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
