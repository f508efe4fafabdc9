"""Fabric spec rules: one accepting and one rejecting case each, asserting the key path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.loader import SpecError, spec_from_mapping
from tests.fabric.conftest import IB8, base_config


def _paths(config: dict[str, Any]) -> list[str]:
    try:
        spec_from_mapping(copy.deepcopy(config), region="us-east-2")
    except SpecError as exc:
        return [p.path for p in exc.problems]
    return []


def test_accepts_complete_infiniband_fabric() -> None:
    assert _paths(base_config(IB8)) == []


def test_accepts_roce_with_gid_index() -> None:
    assert _paths(base_config({**IB8, "type": "roce", "gidIndex": 3})) == []


def test_rejects_roce_without_gid_index() -> None:
    assert _paths(base_config({**IB8, "type": "roce"})) == ["network.fabric.gidIndex"]


def test_rejects_more_rails_than_nics() -> None:
    config = base_config({**IB8, "railsPerNode": 8})
    config["gpuPools"][0].update(gpu="gb200", instanceType="gb200-nvl72-tray")
    assert _paths(config) == ["network.fabric.railsPerNode"]


@pytest.mark.parametrize("key", ["devices", "interfaces"])
def test_rejects_missing_rail_devices(key: str) -> None:
    fabric = {**IB8, key: IB8[key][:7]}
    assert _paths(base_config(fabric)) == [f"network.fabric.{key}"]


def test_rejects_rail_mapping_to_unknown_device() -> None:
    fabric = {**IB8, "railMapping": [{"gpu": 0, "device": "mlx5_9"}]}
    assert _paths(base_config(fabric)) == ["network.fabric.railMapping[0].device"]


def test_accepts_efa_without_device_names() -> None:
    assert _paths(base_config({"type": "efa"}, instance="p5.48xlarge", provider="aws")) == []


def test_rejects_ipam_range_too_small_for_rails() -> None:
    fabric = {**IB8, "ipam": {"cidr": "192.168.0.0/24", "perNodeBlockSize": 16}}
    assert _paths(base_config(fabric)) == ["network.fabric.ipam"]


def test_rejects_host_mofed_with_doca_driver_container() -> None:
    config = base_config(IB8)
    config["gpuOperator"] = {"driver": {"useHostMofed": True}}
    assert _paths(config) == ["gpuOperator.driver.useHostMofed"]


def test_accepts_host_mofed_with_host_driver() -> None:
    config = base_config({**IB8, "driver": "host"})
    config["gpuOperator"] = {"driver": {"useHostMofed": True}}
    assert _paths(config) == []


def test_rejects_invalid_topology_label_value() -> None:
    config = base_config(IB8)
    config["network"]["topology"] = {"enabled": True, "nodes": {"n1": {"rack": "rack 1"}}}
    assert _paths(config) == ["network.topology.nodes.n1.rack"]


def test_accepts_topology_nodes() -> None:
    config = base_config(IB8)
    config["network"]["topology"] = {"enabled": True, "nodes": {"n1": {"rack": "r01", "railGroup": "su-1"}}}
    assert _paths(config) == []
