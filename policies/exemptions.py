"""Exemptions from the pod-privilege rules, each a small named predicate over one container of one pod template.

`efa_nixl_worker(pod, container)`: on AWS EFA, Dynamo's disaggregated workers register GPU memory with the EFA NIC
through NIXL's LIBFABRIC backend, which needs a privileged container (Dynamo docs/kubernetes/cloud-providers/eks/
efa.md, "Pod Resource Requests": "privileged: true is required for NIXL to register CUDA VRAM with the EFA NIC via
fi_mr_reg. IPC_LOCK alone is insufficient"). The exemption covers exactly those containers and only
`privileged: true`: the `main` container of a DynamoGraphDeployment `prefill` or `decode` component that requests
`vpc.amazonaws.com/efa`. hostNetwork/hostPID/hostIPC, hostPath volumes and SYS_ADMIN stay forbidden for them, and
every other pod keeps the rule. The trade-off is stated in docs/fabric.md.
"""

from __future__ import annotations

from policies.workloads import Container, PodView

EFA_RESOURCE = "vpc.amazonaws.com/efa"
NIXL_ROLES = frozenset({"prefill", "decode"})


def efa_nixl_worker(pod: PodView, container: Container) -> bool:
    """Whether `container` is a Dynamo NIXL worker on EFA, allowed to run privileged."""
    if pod.role not in NIXL_ROLES or container.name != "main" or container.init:
        return False
    if not pod.path.startswith("spec.components["):  # a v1beta1 DynamoGraphDeployment component
        return False
    wants = (container.resources("limits").get(EFA_RESOURCE), container.resources("requests").get(EFA_RESOURCE))
    return any(str(v).strip() not in ("", "0", "None") for v in wants)
