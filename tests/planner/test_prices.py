"""The price table: one source, sources and dates, overrides from the spec."""

from __future__ import annotations

import pytest

from components.catalog import NODE_TYPES
from components.catalog.prices import NODE_HOUR_PRICES, STORAGE_PRICES, PriceBook
from tests.planner.helpers import config, spec


def test_every_node_type_has_a_sourced_dated_price() -> None:
    assert set(NODE_HOUR_PRICES) == set(NODE_TYPES)
    for p in [*NODE_HOUR_PRICES.values(), *STORAGE_PRICES.values()]:
        assert p.source and len(p.as_of) == 7 and p.usd >= 0


def test_node_catalog_reads_its_price_from_the_price_table() -> None:
    assert NODE_TYPES["p5.48xlarge"].price_per_hour_usd == NODE_HOUR_PRICES["p5.48xlarge"].usd == 55.04


def test_spec_overrides_replace_list_prices() -> None:
    cfg = config("aws-h100")
    cfg["inference-ra:policy"]["prices"] = {
        "nodeHourUsd": {"p5.48xlarge": 31.5},
        "storageGbMonthUsd": {"fsx-lustre-1000": 0.5},
        "source": "EDP contract 2026",
    }
    book = PriceBook.for_spec(spec(cfg))
    assert book.node_hour_usd("p5.48xlarge") == 31.5
    assert book.node_hour_usd("p5e.48xlarge") == 61.44
    assert book.storage_hour_usd("fsx-lustre-1000", 730) == pytest.approx(0.5)
    assert book.source_of("p5.48xlarge") == "override: EDP contract 2026"


def test_unknown_node_price_names_the_override_key() -> None:
    with pytest.raises(KeyError, match=r"policy\.prices\.nodeHourUsd"):
        PriceBook().node_hour_usd("p9.huge")
