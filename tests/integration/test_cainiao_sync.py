"""Cainiao through a whole sync against the sandbox: what it stores, and how it batches."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from parcelctl.config import Config
from parcelctl.link import link_account
from parcelctl.store import Store
from parcelctl.sync import Syncer
from parcelctl.tracking import resolve_carrier, store_new

#: A waybill of the sandbox shop's orders, shipped with ZTO (Kuaishou express code 9). Its
#: number shape only hints ZTO with low confidence, so `add` stores it without a carrier.
ZTO_WAYBILL = "75312345678901"


def _config(sandbox: Any, **cainiao: Any) -> Config:
    config = Config()
    for key, value in (sandbox.sandbox.credentials()["cainiao"] | cainiao).items():
        config.set(f"providers.cainiao.{key}", value)
    config.set("providers.tracking.default", "cainiao")
    config.paths.ensure()
    return config


def _link_kuaishou(sandbox: Any, config: Config) -> None:
    """``parcelctl link kuaishou``, with one GET of the authorize URL as the browser."""
    for key, value in sandbox.sandbox.credentials()["kuaishou"].items():
        config.set(f"providers.kuaishou.{key}", value)

    def visit(url: str) -> str:
        return str(httpx.get(url, follow_redirects=False, timeout=10).headers["location"])

    link_account("kuaishou", account="shop", open_browser=False, visit=visit,
                 show=lambda _text: None, config=config)


def _sync(config: Config, **options: Any) -> Any:
    with Store(config.paths.db_file) as store:
        summary = asyncio.run(Syncer(config, store).run(**options))
    assert summary.exit_code == 0, summary.to_json()
    return summary


def _requests(sandbox: Any) -> dict[str, int]:
    stats = httpx.get(f"{sandbox.base_url}/_sandbox/stats", timeout=5).json()
    return {k: v for k, v in stats["requests"].items() if k.startswith("cainiao ")}


@pytest.mark.parametrize("hours", [-20, 0], ids=["unknown-number", "scanned"])
def test_number_tracked_by_cainiao_then_imported_from_a_shop_is_one_parcel(
        sandbox: Any, hours: int) -> None:
    # -20 h: before the parcel's first scan, so Cainiao gives its "unknown number" answer
    # ({"mailNoSource": "EXTERNAL", "detailList": []}); 0: it answers with the scans.
    sandbox.sandbox.clock.offset = timedelta(hours=hours)
    config = _config(sandbox)
    parcel = asyncio.run(resolve_carrier(config, "cainiao", ZTO_WAYBILL, None))
    assert parcel.carrier == ""
    with Store(config.paths.db_file) as store:
        store_new(store, [parcel], provider_name="cainiao", label="", phone=None)
    _sync(config)
    assert _requests(sandbox) == {"cainiao detail": 1}
    with Store(config.paths.db_file) as store:
        [row] = store.find_all(ZTO_WAYBILL)
        assert row["carrier"] == ""  # still unknown: the tracker is not the carrier
        assert row["checked_at"] is not None
        assert bool(store.events(int(row["id"]))) is (hours == 0)

    sandbox.sandbox.clock.offset = timedelta()
    _link_kuaishou(sandbox, config)
    _sync(config, providers=["kuaishou"])

    with Store(config.paths.db_file) as store:
        [row] = store.find_all(ZTO_WAYBILL)  # one parcel: polled once, notified once
        assert row["carrier"] == "zhongtong"  # the shop's carrier fills in the unknown one
        assert row["tracking_provider"] == "cainiao"
        assert {(s["provider"], s["account"]) for s in store.sources(int(row["id"]))} == {
            ("manual", ""), ("kuaishou", "shop")}


def _add(config: Config, numbers: list[str]) -> None:
    with Store(config.paths.db_file) as store, store.transaction():
        for number in numbers:
            store.add_parcel(number, "", tracking_provider="cainiao")


def test_configured_batch_size_above_the_default_is_one_request(sandbox: Any) -> None:
    # The real per-request limit is unknown (cainiao.md §1): this sandbox takes 40.
    httpx.post(f"{sandbox.base_url}/_sandbox/service/cainiao", json={"max_batch": 40},
               timeout=5).raise_for_status()
    config = _config(sandbox, batch_size=40)
    numbers = [f"LP{9_100_000_000_000 + i:013d}" for i in range(40)]
    _add(config, numbers)
    summary = _sync(config)
    assert _requests(sandbox) == {"cainiao detail": 1}
    (unit,) = summary.units
    assert unit.ok and unit.items == 40 and unit.requests == 1
    with Store(config.paths.db_file) as store:
        checked = store.db.execute(
            "SELECT count(*) FROM parcels WHERE checked_at IS NOT NULL").fetchone()[0]
    assert checked == 40


def test_configured_batch_size_below_the_default_still_splits(sandbox: Any) -> None:
    config = _config(sandbox, batch_size=3)
    _add(config, [f"LP{9_200_000_000_000 + i:013d}" for i in range(7)])
    _sync(config)
    assert _requests(sandbox) == {"cainiao detail": 3}
