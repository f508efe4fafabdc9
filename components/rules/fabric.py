"""Fabric rules: what the Network Operator objects and the fabric profile need from `network.fabric`.

EFA-on-the-instance and RDMA-for-disaggregation are cross-layer rules in spine.py (efa-instance,
rdma-for-disaggregation) and are not repeated here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from components.rules import Problem, rule
from components.spec import StackSpec

NIC_FABRICS = ("infiniband", "roce")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _largest_pool_rails(spec: StackSpec) -> tuple[str, int]:
    name, rails = "", 0
    for pool in spec.gpu_pools:
        r = spec.rails_per_node(pool)
        if r > rails:
            name, rails = pool.name, r
    return name, rails


@rule("roce-gid-index")
def roce_gid_index(spec: StackSpec) -> Iterator[Problem]:
    fabric = spec.network.fabric
    if fabric.type == "roce" and fabric.gid_index is None:
        yield Problem(
            "network.fabric.gidIndex",
            "RoCE addresses peers by GID; NCCL and UCX must use the RoCEv2 GID of every rail",
            None,
            "set gidIndex (usually 3; see `show_gids` on a node)",
        )


@rule("rails-fit-nics")
def rails_fit_nics(spec: StackSpec) -> Iterator[Problem]:
    fabric = spec.network.fabric
    if fabric.type not in NIC_FABRICS or not fabric.rails_per_node:
        return
    for i, pool in enumerate(spec.gpu_pools):
        nt = spec.node_type(pool)
        if nt is not None and fabric.rails_per_node > nt.nics:
            yield Problem(
                "network.fabric.railsPerNode",
                f"pool '{pool.name}' ({pool.instance_type}, gpuPools[{i}]) has only {nt.nics} RDMA NICs",
                fabric.rails_per_node,
                f"set railsPerNode <= {nt.nics} or leave it unset (rails then follow each pool's NICs)",
            )


@rule("rail-devices")
def rail_devices(spec: StackSpec) -> Iterator[Problem]:
    """IB/RoCE need, per rail of the largest pool, the RDMA device (NCCL/UCX) and its netdev (device plugin
    selector, IPoIB/macvlan master)."""
    fabric = spec.network.fabric
    if fabric.type not in NIC_FABRICS:
        return
    pool, rails = _largest_pool_rails(spec)
    for key, items, example in (
        ("devices", fabric.devices, "[mlx5_0, mlx5_1, ...] (see `ibdev2netdev`)"),
        ("interfaces", fabric.interfaces, "[ibp24s0, ...] or [ens1f0np0, ...] (see `ibdev2netdev`)"),
    ):
        if len(items) < rails:
            yield Problem(
                f"network.fabric.{key}",
                f"needs one entry per rail: pool '{pool}' has {rails} rails",
                items,
                f"list {rails} in rail order, e.g. {example}",
            )
    for i, m in enumerate(fabric.rail_mapping):
        if m.device not in fabric.devices:
            yield Problem(
                f"network.fabric.railMapping[{i}].device",
                "is not one of network.fabric.devices",
                m.device,
                f"use one of {fabric.devices}",
            )


@rule("fabric-ipam")
def fabric_ipam(spec: StackSpec) -> Iterator[Problem]:
    fabric = spec.network.fabric
    if fabric.type not in NIC_FABRICS:
        return
    try:
        net = ipaddress.ip_network(fabric.ipam.cidr)
    except ValueError as exc:
        yield Problem("network.fabric.ipam.cidr", f"is not a network ({exc})", fabric.ipam.cidr, "e.g. 192.168.0.0/16")
        return
    _pool, rails = _largest_pool_rails(spec)
    if not rails:
        return
    per_rail = net.num_addresses >> max(0, (rails - 1).bit_length())
    block = fabric.ipam.per_node_block_size
    nodes = sum(p.nodes.max for p in spec.gpu_pools)  # rail 0 exists on every node of every pool
    if per_rail < nodes * block:
        yield Problem(
            "network.fabric.ipam",
            f"{fabric.ipam.cidr} split into {rails} rails gives {per_rail} addresses per rail, fewer than "
            f"{nodes} nodes x perNodeBlockSize {block}",
            fabric.ipam.cidr,
            f"use a range with at least {nodes * block} addresses per rail, or a smaller perNodeBlockSize",
        )


@rule("fabric-driver")
def fabric_driver(spec: StackSpec) -> Iterator[Problem]:
    fabric = spec.network.fabric
    if fabric.type in NIC_FABRICS and fabric.driver == "doca" and spec.gpu_operator.driver.use_host_mofed:
        yield Problem(
            "gpuOperator.driver.useHostMofed",
            "the Network Operator deploys the DOCA-OFED driver container (network.fabric.driver doca), so MOFED "
            "is not on the host",
            True,
            "set useHostMofed: false, or network.fabric.driver: host",
        )


@rule("topology-labels")
def topology_labels(spec: StackSpec) -> Iterator[Problem]:
    for node, topo in spec.network.topology.nodes.items():
        for key, value in (("rack", topo.rack), ("nvlinkDomain", topo.nvlink_domain), ("railGroup", topo.rail_group)):
            if value is not None and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                yield Problem(
                    f"network.topology.nodes.{node}.{key}",
                    "is not a valid label value",
                    value,
                    "use at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
                )
