"""Returning parcels, station-signed parcels and a carrier code kuaidi100 does not know,
against the sandbox (issue 15 items 6-8; errata Q1-Q3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .clihelp import as_json, cli, configure, control, stats

RETURNING = "1136281381675"  # ems: on its way back now, the return ends 48 h later
STATION = "773027491214552"  # shentong: 暂存 at a station, pickup code A-7-3021


def _queries(running: Any, provider: str, number: str) -> int:
    return int(stats(running)["numbers"].get(f"{provider} {number}", 0))


def _no_floor() -> None:
    for key, value in (("polling.min_minutes", "0"),
                       ("providers.kuaidi100.min_interval_minutes", "0")):
        assert cli("config", "set", key, value).returncode == 0


def test_unknown_carrier_code_is_that_parcels_error(sandbox: Any) -> None:
    """Errata Q1 (several independent clients): returnCode 400 "找不到对应公司" is a wrong
    carrier code for one number, not the account: the other parcels are tracked."""
    configure(sandbox, "kuaidi100")
    # `add` refuses a code parcelctl does not know; such a code reaches kuaidi100 through a
    # shop's waybill instead (a platform carrier code without a crosswalk entry is kept as
    # it is), so the parcel is put in the store as an import would.
    import os

    from parcelctl.store import Store

    with Store(Path(os.environ["PARCELCTL_HOME"]) / "parcels.db") as store, \
            store.transaction():
        store.add_parcel("YT6247854916511", "nosuchco", tracking_provider="kuaidi100")
    assert cli("add", "3950055201640", "--carrier", "yunda", "--no-track").returncode == 0
    result = cli("sync", "--json")
    assert result.returncode == 0, result.stderr
    units = {u["name"]: u for u in as_json(result)["providers"]}
    assert units["kuaidi100"]["ok"]
    assert "nosuchco" in units["kuaidi100"]["item_errors"]["YT6247854916511"]
    assert as_json(cli("show", "3950055201640", "--json"))["status"] == "exception"


def test_station_signed_304_is_ready_for_pickup_and_still_polled(sandbox: Any) -> None:
    """Errata Q3 (Kuaidi100 official doc): sub-state 304 "快件已由快递柜或者驿站签收" — the
    station signed, the person still has to collect it: ready_for_pickup with its code, and
    polled again, as Cainiao's GTMS_STA_SIGNED for the same parcel."""
    configure(sandbox, "kuaidi100", "cainiao")
    shown = as_json(cli("add", STATION, "--carrier", "shentong", "--json"))[0]
    assert (shown["status"], shown["pickup_code"]) == ("ready_for_pickup", "A-7-3021")
    assert shown["next_check_at"] is not None
    raw = as_json(cli("add", "LP00123456789012", "--provider", "cainiao", "--json"))
    assert raw[0]["status"]  # Cainiao answers too (its own parcel)
    _no_floor()
    assert cli("sync", "--force").returncode == 0
    assert _queries(sandbox, "kuaidi100", STATION) == 2  # still polled


def test_a_returning_parcel_is_tracked_until_the_return_ends(sandbox: Any) -> None:
    """Errata Q2 (Kuaidi100 official doc, apifox api-8562559): state 6 "快件正处于返回发货人的
    途中" is still moving; state 4 ends the return. Tracked (slowly) until then."""
    configure(sandbox, "kuaidi100")
    first = as_json(cli("add", RETURNING, "--carrier", "ems", "--json"))[0]
    assert first["status"] == "returned" and first["next_check_at"] is not None
    assert cli("config", "set", "polling.returned", "2880").returncode == 0  # configurable
    _no_floor()
    assert cli("sync", "--force").returncode == 0
    assert _queries(sandbox, "kuaidi100", RETURNING) == 2
    control(sandbox, "clock", {"advance": 49 * 3600})  # the sender signed for it
    assert cli("sync", "--force").returncode == 0
    ended = as_json(cli("show", RETURNING, "--json"))
    assert ended["status"] == "returned" and ended["next_check_at"] is None
    assert cli("sync", "--force").returncode == 0
    assert _queries(sandbox, "kuaidi100", RETURNING) == 3  # never asked again
    assert ended["events"][0]["status"] == "returned"


def test_17track_returning_is_tracked_until_returned(sandbox: Any) -> None:
    """Errata Q2 (17TRACK sub-status tables): Exception_Returning / milestone Returning mean
    the same as Kuaidi100's state 6; Exception_Returned ends it."""
    configure(sandbox, "17track")
    first = as_json(cli("add", RETURNING, "--provider", "17track", "--json"))[0]
    assert first["status"] == "returned" and first["next_check_at"] is not None
    assert cli("config", "set", "polling.min_minutes", "0").returncode == 0
    assert cli("config", "set", "providers.17track.min_interval_minutes", "0").returncode == 0
    control(sandbox, "clock", {"advance": 50 * 3600})
    assert cli("sync", "--force").returncode == 0
    ended = as_json(cli("show", RETURNING, "--json"))
    assert ended["status"] == "returned" and ended["next_check_at"] is None


def test_a_return_that_goes_quiet_stops_being_polled(sandbox: Any, parcelctl_home: Path
                                                      ) -> None:
    """DESIGN: "… until the carrier reports the return ended or it goes quiet for
    polling.stale_days"."""
    configure(sandbox, "kuaidi100")
    assert cli("config", "set", "polling.stale_days", "1").returncode == 0  # last scan: 40 h
    shown = as_json(cli("add", RETURNING, "--carrier", "ems", "--json"))[0]
    assert shown["status"] == "returned" and shown["next_check_at"] is None
