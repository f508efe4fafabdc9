"""Prices: instance hours and storage, the one source of truth for every cost the stack reports.

Typed data, each entry with its source and the date it was read. A stack overrides any of them (negotiated
rates, reserved pricing, an NCP's internal rate card) under `policy.prices`; `PriceBook.for_spec` applies them.
AWS figures are on-demand list prices of us-east-2 (Ohio), read 2026-08; bare-metal systems carry reference
rates of GPU clouds for a whole 8-GPU (or 4-GPU tray) system, which every NCP should override with its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HOURS_PER_MONTH = 730.0  # AWS billing convention


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    unit: str  # "node-hour" | "GB-month"
    source: str
    as_of: str  # YYYY-MM the price was read


AWS_PRICE_REGION = "us-east-2"  # every AWS price below is this region's list price
AWS_PRICE_REGION_NAME = "Ohio"
_EC2 = f"AWS EC2 On-Demand pricing, {AWS_PRICE_REGION}, Linux"
_AS_OF = "2026-08"


def _node(key: str, usd: float, source: str = _EC2, as_of: str = _AS_OF) -> Price:
    return Price(key, usd, "node-hour", source, as_of)


NODE_HOUR_PRICES: dict[str, Price] = {
    p.key: p
    for p in (
        _node("p4d.24xlarge", 21.96),
        _node("p5.48xlarge", 55.04),
        _node("p5e.48xlarge", 61.44),
        _node("p5en.48xlarge", 63.30),
        _node("p6-b200.48xlarge", 113.93),
        _node("g6e.xlarge", 1.86),
        _node("g6e.2xlarge", 2.24),
        _node("g6e.4xlarge", 3.00),
        _node("g6e.8xlarge", 4.53),
        _node("g6e.12xlarge", 10.49),
        _node("g6e.16xlarge", 7.58),
        _node("g6e.24xlarge", 15.07),
        _node("g6e.48xlarge", 30.13),
        _node("dgx-h100", 40.0, "reference NCP rate: 8x H100 SXM at $5.00 per GPU-hour (override with yours)"),
        _node("hgx-h200-8gpu", 48.0, "reference NCP rate: 8x H200 SXM at $6.00 per GPU-hour (override with yours)"),
        _node("gb200-nvl72-tray", 42.0, "reference NCP rate: 4x GB200 at $10.50 per GPU-hour (override with yours)"),
    )
}

_FSX = "AWS FSx for Lustre pricing, us-east-2, PERSISTENT_2 SSD storage per GB-month at the given MB/s/TiB"
STORAGE_PRICES: dict[str, Price] = {
    p.key: p
    for p in (
        Price("fsx-lustre-125", 0.145, "GB-month", _FSX, _AS_OF),
        Price("fsx-lustre-250", 0.210, "GB-month", _FSX, _AS_OF),
        Price("fsx-lustre-500", 0.340, "GB-month", _FSX, _AS_OF),
        Price("fsx-lustre-1000", 0.600, "GB-month", _FSX, _AS_OF),
        Price("ebs-gp3", 0.08, "GB-month", "Amazon EBS pricing, us-east-2, gp3 storage", _AS_OF),
        Price("s3-standard", 0.023, "GB-month", "Amazon S3 pricing, us-east-2, S3 Standard first 50 TB", _AS_OF),
        # On-prem filesystems (lustre, weka, vast, gpfs, nfs) are capital cost of the NCP: 0 unless overridden.
        Price(
            "onprem-parallel-fs", 0.0, "GB-month", "on-prem capital cost; set policy.prices.storageGbMonthUsd", _AS_OF
        ),
    )
}


def fsx_price_key(throughput_mbps_per_tib: int) -> str:
    return f"fsx-lustre-{throughput_mbps_per_tib}"


@dataclass(frozen=True)
class PriceBook:
    """Catalog prices with a stack's overrides applied (`policy.prices`)."""

    node_hour: Mapping[str, float] = field(default_factory=lambda: {k: p.usd for k, p in NODE_HOUR_PRICES.items()})
    storage_gb_month: Mapping[str, float] = field(default_factory=lambda: {k: p.usd for k, p in STORAGE_PRICES.items()})
    overridden: frozenset[str] = frozenset()
    override_source: str | None = None

    @classmethod
    def with_overrides(
        cls, nodes: Mapping[str, float], storage: Mapping[str, float], source: str | None = None
    ) -> PriceBook:
        base = cls()
        return cls(
            node_hour={**base.node_hour, **nodes},
            storage_gb_month={**base.storage_gb_month, **storage},
            overridden=frozenset(nodes) | frozenset(storage),
            override_source=source,
        )

    @classmethod
    def for_spec(cls, spec: Any) -> PriceBook:
        """The price book of a StackSpec: catalog prices, then `policy.prices`."""
        prices = spec.policy.prices
        return cls.with_overrides(prices.node_hour_usd, prices.storage_gb_month_usd, prices.source)

    def node_hour_usd(self, node_type: str) -> float:
        if node_type not in self.node_hour:
            raise KeyError(f"no price for node type {node_type!r}; set policy.prices.nodeHourUsd.{node_type}")
        return float(self.node_hour[node_type])

    def storage_hour_usd(self, key: str, gb: float) -> float:
        return float(self.storage_gb_month[key]) * gb / HOURS_PER_MONTH

    def region_note(self, region: str | None) -> str:
        """Whether the AWS prices are the stack's region's (empty off aws). They are one region's list prices: a
        stack elsewhere is told so, and that `policy.prices` replaces them."""
        if not region:
            return ""
        where = f"AWS prices are {AWS_PRICE_REGION} ({AWS_PRICE_REGION_NAME}) on-demand list prices"
        if region == AWS_PRICE_REGION:
            return f"{where}, the stack's region."
        return f"{where}, not {region}'s: set policy.prices for this region."

    def source_of(self, key: str) -> str:
        if key in self.overridden:
            return f"override: {self.override_source or 'policy.prices'}"
        price = NODE_HOUR_PRICES.get(key) or STORAGE_PRICES.get(key)
        return f"{price.source} ({price.as_of})" if price else "unknown"


DEFAULT_PRICES = PriceBook()
