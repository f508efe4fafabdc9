"""Pure builders: subnet plan, rail subnets, IPoIB parent, device plugin config, topology objects."""

from __future__ import annotations

import json

from networking import network_operator as nop
from networking.fabric import efa_device_plugin_values
from networking.profile import rdma_resource_name
from networking.topology import grove_binding, kai_topology, node_label_patches
from networking.vpc import plan_subnets
from tests.fabric.conftest import IB8, base_config, spec_of


def test_subnet_plan_two_azs() -> None:
    plan = plan_subnets("10.0.0.0/16", ["a", "b"])
    assert [(p.private, p.public) for p in plan] == [
        ("10.0.0.0/18", "10.0.192.0/24"),
        ("10.0.64.0/18", "10.0.193.0/24"),
    ]


def test_subnet_plan_four_azs_does_not_overlap() -> None:
    plan = plan_subnets("10.1.0.0/16", ["a", "b", "c", "d"])
    assert [p.private for p in plan] == ["10.1.0.0/19", "10.1.32.0/19", "10.1.64.0/19", "10.1.96.0/19"]
    assert [p.public for p in plan] == ["10.1.224.0/24", "10.1.225.0/24", "10.1.226.0/24", "10.1.227.0/24"]


def test_rail_subnets_split_the_range() -> None:
    assert nop.rail_subnets("192.168.0.0/16", 8)[7] == "192.168.224.0/19"
    assert nop.rail_subnets("192.168.0.0/16", 3) == ["192.168.0.0/18", "192.168.64.0/18", "192.168.128.0/18"]


def test_ipoib_master_uses_full_membership_pkey_child() -> None:
    spec = spec_of(base_config({**IB8, "pkey": "0x0001"}))
    assert nop.ipoib_master(spec, 2) == "ibp2s0.8001"
    assert nop.ipoib_master(spec_of(base_config({**IB8, "pkey": "0x7fff"})), 0) == "ibp0s0"
    assert nop.ipoib_master(spec_of(base_config(IB8)), 0) == "ibp0s0"


def test_shared_device_plugin_advertises_the_profile_resource_names() -> None:
    spec = spec_of(base_config(IB8))
    config = nop.device_plugin_config(spec)["configList"]
    advertised = [f"{c['resourcePrefix']}/{c['resourceName']}" for c in config]
    assert advertised == [rdma_resource_name(i) for i in range(8)]
    assert config[3]["selectors"] == {"vendors": ["15b3"], "ifNames": ["ibp3s0"]}
    policy = nop.nic_cluster_policy(spec)["spec"]
    assert json.loads(policy["rdmaSharedDevicePlugin"]["config"])["configList"] == config


def test_sriov_uses_host_device_networks_and_nvidia_prefix() -> None:
    spec = spec_of(base_config({**IB8, "devicePlugin": "sriov"}))
    nets = nop.rail_networks(spec)
    assert {n["kind"] for n in nets} == {"HostDeviceNetwork"}
    assert nets[0]["spec"]["resourceName"] == "sriov_rail0"
    resources = nop.device_plugin_config(spec)["resourceList"]
    assert f"{resources[0]['resourcePrefix']}/{resources[0]['resourceName']}" == rdma_resource_name(0, "sriov")
    policy = nop.nic_cluster_policy(spec)["spec"]
    assert "sriovDevicePlugin" in policy and "rdmaSharedDevicePlugin" not in policy
    assert "ipoib" not in policy["secondaryNetwork"]


def test_roce_macvlan_networks_default_mtu_9000() -> None:
    spec = spec_of(base_config({**IB8, "type": "roce", "gidIndex": 3}))
    net = nop.rail_networks(spec)[5]
    assert net["kind"] == "MacvlanNetwork"
    assert net["spec"] == {
        "networkNamespace": "network-operator",
        "master": "ibp5s0",
        "mode": "bridge",
        "mtu": 9000,
        "ipam": '{"poolName": "rail5", "type": "nv-ipam"}',
    }


def test_host_mofed_drops_the_driver_container_and_tells_the_gpu_operator() -> None:
    spec = spec_of(base_config({**IB8, "driver": "host"}))
    assert "ofedDriver" not in nop.nic_cluster_policy(spec)["spec"]
    assert nop.gpu_operator_rdma(spec) == {"enabled": True, "useHostMofed": True}
    assert nop.gpu_operator_rdma(spec_of(base_config(IB8))) == {"enabled": True, "useHostMofed": False}
    assert nop.gpu_operator_rdma(spec_of(base_config({"type": "tcp"}))) == {"enabled": False, "useHostMofed": False}


def test_nfd_follows_the_spec() -> None:
    assert nop.chart_values(spec_of(base_config(IB8)))["nfd"] == {"enabled": False}
    assert nop.chart_values(spec_of(base_config({**IB8, "nfd": "network-operator"})))["nfd"] == {"enabled": True}


def test_efa_device_plugin_only_on_efa_pools() -> None:
    spec = spec_of(base_config({"type": "efa"}, instance="p5.48xlarge", provider="aws"))
    values = efa_device_plugin_values(spec, "us-east-2")
    assert values["supportedInstanceLabels"] == {"keys": ["inference-ra.nvidia.com/pool"], "values": ["gpu"]}
    assert values["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert values["image"]["repository"].startswith("602401143452.dkr.ecr.us-east-2.amazonaws.com/")


def test_topology_levels_and_node_labels() -> None:
    config = base_config(IB8)
    config["network"]["topology"] = {
        "enabled": True,
        "nodes": {"node-a": {"rack": "r01", "railGroup": "su1"}, "node-b": {}},
    }
    spec = spec_of(config)
    assert [lv["nodeLabel"] for lv in kai_topology(spec)["spec"]["levels"]] == [
        "inference-ra.nvidia.com/rail-group",
        "nvidia.com/gpu.clique",
        "topology.kubernetes.io/rack",
        "kubernetes.io/hostname",
    ]
    binding = grove_binding(spec, kai=True)["spec"]
    assert [lv["domain"] for lv in binding["levels"]] == ["block", "nvlink-domain", "rack", "host"]
    assert binding["schedulerTopologyBindings"] == [
        {"schedulerName": "kai-scheduler", "topologyReference": "inference-ra"}
    ]
    assert node_label_patches(spec) == [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": "node-a",
                "labels": {"topology.kubernetes.io/rack": "r01", "inference-ra.nvidia.com/rail-group": "su1"},
            },
        }
    ]
