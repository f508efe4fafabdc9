"""Chart pods that need host access, why, and the namespace that lets them: a chart pod may be privileged (privileged
container, hostNetwork/hostPID/hostIPC, hostPath) only in a namespace whose Pod Security level is `privileged`
(components/platform.py PRIVILEGED_NAMESPACES, the policy rule `no-privileged-pods`) and only when its operator
documents the need. `tests/charts/test_privileges.py` holds every rendered chart pod of the shipped stacks to this
table: a new privileged chart pod fails until it is added here with its source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrivilegeNeed:
    chart: str
    namespace: str
    workload: str  # `<Kind>/<name>`
    needs: str
    source: str


PRIVILEGE_NEEDS: tuple[PrivilegeNeed, ...] = (
    PrivilegeNeed(
        "gpu-operator",
        "gpu-operator",
        "DaemonSet/gpu-operator-node-feature-discovery-worker",
        "hostPath /boot, /sys, /usr/lib, /lib, /etc/os-release, /proc/swaps and features.d: NFD reads the host's "
        "kernel, PCI and OS features to label nodes",
        "kubernetes-sigs/node-feature-discovery deployment/helm templates/worker.daemonset.yaml (subchart of "
        "NVIDIA/gpu-operator v26.7.0)",
    ),
    PrivilegeNeed(
        "kube-prometheus-stack",
        "kube-system",
        "DaemonSet/kube-prometheus-stack-prometheus-node-exporter",
        "hostNetwork, hostPID, hostPath /, /proc, /sys: node metrics of the host, not of the pod",
        "prometheus-community/helm-charts charts/prometheus-node-exporter values.yaml hostNetwork, hostPID, "
        "hostRootFsMount (kube-prometheus-stack 88.5.3)",
    ),
    PrivilegeNeed(
        "aws-efa-k8s-device-plugin",
        "kube-system",
        "DaemonSet/aws-efa-k8s-device-plugin",
        "privileged, hostNetwork, hostPath /dev/infiniband and the kubelet device-plugin socket dir: advertises "
        "vpc.amazonaws.com/efa devices",
        "aws/eks-charts stable/aws-efa-k8s-device-plugin values.yaml securityContext.privileged; the EKS user guide "
        "'Run machine learning training on Amazon EKS with Elastic Fabric Adapter'",
    ),
    PrivilegeNeed(
        "aws-fsx-csi-driver",
        "kube-system",
        "DaemonSet/fsx-csi-node",
        "privileged, hostPath /var/lib/kubelet: a CSI node plugin mounts Lustre into pods (bidirectional mount "
        "propagation needs privileged)",
        "kubernetes-sigs/aws-fsx-csi-driver charts/aws-fsx-csi-driver templates/node-daemonset.yaml; Kubernetes CSI "
        "docs 'Deploying a CSI driver': node plugins run privileged",
    ),
    PrivilegeNeed(
        "dra-driver-nvidia-gpu",
        "nvidia-dra-driver",
        "DaemonSet/dra-driver-nvidia-gpu-kubelet-plugin",
        "privileged, hostPath kubelet plugin dirs, /var/run/cdi, the driver root: a DRA kubelet plugin prepares "
        "IMEX channels and writes CDI specs on the host",
        "kubernetes-sigs/dra-driver-nvidia-gpu v0.4.1 deployments/helm templates/kubeletplugin.yaml",
    ),
)
