"""NVIDIA Network Operator objects for InfiniBand / RoCE, as pure manifest builders.

One NicClusterPolicy (driver, device plugin, secondary network, NV-IPAM), and per rail an NV-IPAM IPPool and a
network CR (IPoIBNetwork on InfiniBand, MacvlanNetwork on RoCE, HostDeviceNetwork with SR-IOV). The resource and
network names come from `networking.profile`, so what pods request is exactly what is advertised here.
Schemas: Network Operator v26.4.1 CRDs (mellanox.com/v1alpha1), NV-IPAM v0.4.0 (nv-ipam.nvidia.com/v1alpha1).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from components import fabric as fabric_rules
from components import k8s as kobj
from components.catalog.versions import CHARTS
from components.constants import FABRIC_LABEL, GPU_TOLERATION, POOL_LABEL
from components.spec import StackSpec
from networking.profile import (
    NETWORK_NAMESPACE,
    RDMA_SHARED_PREFIX,
    SRIOV_PREFIX,
    network_name,
    shared_resource,
    sriov_resource,
)

NIC_CLUSTER_POLICY = "nic-cluster-policy"  # the operator reconciles only this name
MELLANOX_VENDOR = "15b3"  # PCI vendor id of NVIDIA (Mellanox) NICs
RDMA_HCA_MAX = 63  # pods per node that may share one rail's HCA (the operator docs' value)

# Images of Network Operator 26.4.1 (nvcr.io/nvidia/mellanox, tag network-operator-v26.4.1; DOCA-OFED driver as
# listed in the v26.4.1 NicClusterPolicy reference example).
OPERATOR_VERSION = CHARTS["network-operator"].version
REPOSITORY = "nvcr.io/nvidia/mellanox"
COMPONENT_TAG = f"network-operator-v{OPERATOR_VERSION}"
DOCA_DRIVER_VERSION = "doca3.4.1-26.04-1.1.0.0-1"
DEFAULT_MTU = {"infiniband": 4092, "roce": 9000}


def _image(name: str, version: str = COMPONENT_TAG) -> dict[str, Any]:
    return {"image": name, "repository": REPOSITORY, "version": version}


def rdma_pools(spec: StackSpec) -> list[tuple[str, int]]:
    """(pool, rails) of every pool on the fabric, largest first."""
    pools = [(p.name, spec.rails_per_node(p)) for p in spec.gpu_pools]
    return sorted(pools, key=lambda x: -x[1])


def max_rails(spec: StackSpec) -> int:
    return max((r for _, r in rdma_pools(spec)), default=0)


def device_plugin_config(spec: StackSpec) -> dict[str, Any]:
    """The device plugin config: one resource per rail, selecting the rail's netdev on Mellanox NICs."""
    fabric = spec.network.fabric
    rails = max_rails(spec)
    if fabric.device_plugin == "sriov":
        return {
            "resourceList": [
                {
                    "resourcePrefix": SRIOV_PREFIX,
                    "resourceName": sriov_resource(i),
                    "selectors": {"vendors": [MELLANOX_VENDOR], "pfNames": [fabric.interfaces[i]], "isRdma": True},
                }
                for i in range(rails)
            ]
        }
    return {
        "configList": [
            {
                "resourcePrefix": RDMA_SHARED_PREFIX,
                "resourceName": shared_resource(i),
                "rdmaHcaMax": RDMA_HCA_MAX,
                "selectors": {"vendors": [MELLANOX_VENDOR], "ifNames": [fabric.interfaces[i]]},
            }
            for i in range(rails)
        ]
    }


def gpu_node_affinity(spec: StackSpec) -> dict[str, Any]:
    """Per-node components run on the fabric's GPU pools only (pool label set by the compute layer)."""
    return {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {"key": POOL_LABEL, "operator": "In", "values": sorted(p.name for p in spec.gpu_pools)}
                    ]
                }
            ]
        }
    }


def nic_cluster_policy(spec: StackSpec) -> kobj.Manifest:
    fabric = spec.network.fabric
    body: dict[str, Any] = {
        "nodeAffinity": gpu_node_affinity(spec),
        "tolerations": [GPU_TOLERATION],
    }
    if fabric.driver == "doca":
        body["ofedDriver"] = {
            **_image("doca-driver", DOCA_DRIVER_VERSION),
            "upgradePolicy": {
                "autoUpgrade": True,
                "maxParallelUpgrades": 1,
                "drain": {"enable": True, "force": True, "deleteEmptyDir": True, "timeoutSeconds": 300},
            },
            "startupProbe": {"initialDelaySeconds": 10, "periodSeconds": 20},
            "livenessProbe": {"initialDelaySeconds": 30, "periodSeconds": 30},
            "readinessProbe": {"initialDelaySeconds": 10, "periodSeconds": 30},
        }
    config = json.dumps(device_plugin_config(spec), sort_keys=True)
    if fabric.device_plugin == "sriov":
        body["sriovDevicePlugin"] = {**_image("sriov-network-device-plugin"), "config": config}
    else:
        body["rdmaSharedDevicePlugin"] = {**_image("k8s-rdma-shared-dev-plugin"), "config": config}
    secondary: dict[str, Any] = {
        "cniPlugins": _image("plugins"),
        "multus": _image("multus-cni"),
    }
    if fabric.type == "infiniband" and fabric.device_plugin == "rdma-shared":
        secondary["ipoib"] = _image("ipoib-cni")
    body["secondaryNetwork"] = secondary
    body["nvIpam"] = {**_image("nvidia-k8s-ipam"), "enableWebhook": False}
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        "metadata": kobj.metadata(NIC_CLUSTER_POLICY),
        "spec": body,
    }


def rail_subnets(cidr: str, rails: int) -> list[str]:
    """Split the fabric's IPAM range into one equal subnet per rail (rails rounded up to a power of two)."""
    net = ipaddress.ip_network(cidr)
    bits = max(0, (rails - 1).bit_length())
    return [str(s) for s in list(net.subnets(prefixlen_diff=bits))[:rails]]


def ip_pools(spec: StackSpec) -> list[kobj.Manifest]:
    """One NV-IPAM IPPool per rail, in NV-IPAM's namespace, on the nodes of the pools that have that rail."""
    fabric = spec.network.fabric
    pools = rdma_pools(spec)
    out = []
    for i, subnet in enumerate(rail_subnets(fabric.ipam.cidr, max_rails(spec))):
        with_rail = sorted(name for name, rails in pools if rails > i)
        out.append(
            {
                "apiVersion": "nv-ipam.nvidia.com/v1alpha1",
                "kind": "IPPool",
                "metadata": kobj.metadata(network_name(i), NETWORK_NAMESPACE, {FABRIC_LABEL: fabric.type}),
                "spec": {
                    "subnet": subnet,
                    "perNodeBlockSize": fabric.ipam.per_node_block_size,
                    "nodeSelector": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": with_rail}]}
                        ]
                    },
                },
            }
        )
    return out


def _ipam(rail: int) -> str:
    return json.dumps({"type": "nv-ipam", "poolName": network_name(rail)}, sort_keys=True)


def ipoib_master(spec: StackSpec, rail: int) -> str:
    """The IPoIB parent of rail `rail`: the rail's netdev, or its PKey child `<netdev>.<pkey|0x8000>` (full
    membership) when a non-default partition is set. The child interface must exist on the host."""
    fabric = spec.network.fabric
    iface = fabric.interfaces[rail]
    if fabric.pkey is None:
        return iface
    pkey = int(fabric.pkey, 16) | 0x8000
    return iface if pkey == 0xFFFF else f"{iface}.{pkey:04x}"


def rail_networks(spec: StackSpec) -> list[kobj.Manifest]:
    """Per rail: the secondary network CR whose NAD pods attach (cluster-scoped; the NAD is namespaced)."""
    fabric = spec.network.fabric
    out = []
    for i in range(max_rails(spec)):
        meta = kobj.metadata(network_name(i), labels={FABRIC_LABEL: fabric.type})
        if fabric.device_plugin == "sriov":
            kind = "HostDeviceNetwork"
            body: dict[str, Any] = {"resourceName": sriov_resource(i)}
        elif fabric.type == "infiniband":
            kind = "IPoIBNetwork"
            body = {"master": ipoib_master(spec, i)}
        else:
            kind = "MacvlanNetwork"
            body = {
                "master": fabric.interfaces[i],
                "mode": "bridge",
                "mtu": fabric.mtu or DEFAULT_MTU["roce"],
            }
        out.append(
            {
                "apiVersion": "mellanox.com/v1alpha1",
                "kind": kind,
                "metadata": meta,
                "spec": {"networkNamespace": NETWORK_NAMESPACE, **body, "ipam": _ipam(i)},
            }
        )
    return out


def chart_values(spec: StackSpec) -> dict[str, Any]:
    """Network Operator chart values: the operator (the NicClusterPolicy is ours), NFD only if it deploys it."""
    return {
        "nfd": {"enabled": spec.network.fabric.nfd == "network-operator"},
        "sriovNetworkOperator": {"enabled": False},
        "operator": {"tolerations": [GPU_TOLERATION]},
    }


def gpu_operator_rdma(spec: StackSpec) -> dict[str, bool]:
    """`driver.rdma` of the GPU Operator for this fabric (components/fabric.py, the compute layer's source too)."""
    return fabric_rules.gpu_operator_rdma(spec)
