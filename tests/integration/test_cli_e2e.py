"""The CLI against the sandbox over real loopback HTTP, as a user runs it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from .clihelp import as_json, assert_one_line_error, cli, configure, control, stats


@pytest.fixture
def tracked(sandbox: Any) -> Any:
    configure(sandbox, "kuaidi100", "17track", "cainiao")
    assert cli("config", "set", "providers.tracking.default", "kuaidi100").returncode == 0
    return sandbox


def _queries(running: Any, number: str) -> int:
    return int(stats(running)["numbers"].get(f"kuaidi100 {number}", 0))


def test_add_sync_list_show(tracked: Any) -> None:
    added = as_json(cli("add", "YT6247854916511", "773027491214552", "--json"))
    assert {p["tracking_number"] for p in added} == {"YT6247854916511", "773027491214552"}
    by_number = {p["tracking_number"]: p for p in added}
    assert by_number["YT6247854916511"]["status"] == "delivered"
    assert by_number["YT6247854916511"]["carrier"] == "yuantong"
    pickup = by_number["773027491214552"]
    assert pickup["status"] == "ready_for_pickup"
    assert pickup["pickup_code"] == "A-7-3021"
    assert pickup["status_label"] == "待取件"

    listed = as_json(cli("list", "--json"))
    numbers = [p["tracking_number"] for p in listed]
    assert "773027491214552" in numbers
    assert "YT6247854916511" not in numbers  # delivered: not in the active view
    everything = as_json(cli("list", "--all", "--json"))
    assert {p["tracking_number"] for p in everything} >= {"YT6247854916511", "773027491214552"}
    for parcel in everything:
        for key in ("tracking_number", "carrier", "status", "status_label", "title", "sources",
                    "last_event", "updated_at", "pickup_code"):
            assert key in parcel
        assert parcel["sources"] == [{"provider": "manual", "account": "", "order_id": ""}]
        assert parcel["last_event"]["time"][-6:] in ("+08:00",)  # offset kept

    shown = as_json(cli("show", "YT6247854916511", "--json"))
    assert len(shown["events"]) == 7
    times = [e["time"] for e in shown["events"]]
    assert times == sorted(times, reverse=True)  # newest first
    assert shown["events"][0]["status"] == "delivered"

    human = cli("show", "YT6247854916511")
    assert human.returncode == 0 and "YT6247854916511" in human.stdout


def test_resync_adds_no_duplicates_and_delivered_is_not_requeried(tracked: Any,
                                                                 parcelctl_home: Path) -> None:
    assert cli("add", "YT6247854916511").returncode == 0
    assert cli("add", "3950055201640", "--carrier", "yunda").returncode == 0
    first = _queries(tracked, "YT6247854916511")
    assert first == 1
    db = sqlite3.connect(parcelctl_home / "parcels.db")
    events_before = db.execute("SELECT count(*) FROM events").fetchone()[0]
    for _ in range(2):
        result = cli("sync", "--force")
        assert result.returncode == 0, result.stderr
    assert _queries(tracked, "YT6247854916511") == first  # delivered: never asked again
    # Active, but just checked: even --force waits for Kuaidi100's 30-minute minimum.
    assert _queries(tracked, "3950055201640") == 1
    assert cli("config", "set", "providers.kuaidi100.min_interval_minutes", "0").returncode == 0
    assert cli("config", "set", "polling.min_minutes", "0").returncode == 0
    for _ in range(2):
        assert cli("sync", "--force").returncode == 0
    assert _queries(tracked, "3950055201640") == 3  # no floor configured: asked each time
    assert _queries(tracked, "YT6247854916511") == first
    events_after = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert events_after == events_before


def test_sync_provider_polls_only_that_trackers_parcels(tracked: Any,
                                                      parcelctl_home: Path) -> None:
    assert cli("add", "3950055201640", "--carrier", "yunda").returncode == 0
    assert cli("add", "773027491214552", "--phone", "1234").returncode == 0
    assert cli("add", "RB123456785CN", "--provider", "17track").returncode == 0
    db = sqlite3.connect(parcelctl_home / "parcels.db", isolation_level=None)
    # One row follows the default tracker (kuaidi100) instead of naming it.
    db.execute("UPDATE parcels SET tracking_provider='' WHERE number='773027491214552'")

    def asked() -> dict[str, int]:
        numbers = stats(tracked)["numbers"]
        return {n: int(numbers.get(f"{p} {n}", 0)) for p, n in (
            ("kuaidi100", "3950055201640"), ("kuaidi100", "773027491214552"),
            ("17track", "RB123456785CN"))}

    def make_all_due() -> dict[str, int]:
        db.execute("UPDATE parcels SET status='in_transit', checked_at=NULL,"
                   " next_check_at=NULL")
        return asked()

    before = make_all_due()
    assert cli("sync", "--provider", "17track").returncode == 0
    after = asked()
    assert after["RB123456785CN"] > before["RB123456785CN"]
    assert after["3950055201640"] == before["3950055201640"]
    assert after["773027491214552"] == before["773027491214552"]

    before = make_all_due()
    assert cli("sync", "--provider", "kuaidi100").returncode == 0
    after = asked()
    assert after["RB123456785CN"] == before["RB123456785CN"]
    assert after["3950055201640"] == before["3950055201640"] + 1
    assert after["773027491214552"] == before["773027491214552"] + 1


def test_sync_without_force_respects_minimum_interval(tracked: Any) -> None:
    assert cli("add", "3950055201640", "--carrier", "yunda").returncode == 0
    assert cli("sync").returncode == 0
    assert cli("sync").returncode == 0
    assert _queries(tracked, "3950055201640") == 1


def test_phone_required_is_an_error_before_any_request(tracked: Any) -> None:
    result = cli("add", "SF1321934960512")
    err = assert_one_line_error(result)
    assert "--phone" in err
    assert _queries(tracked, "SF1321934960512") == 0
    ok = as_json(cli("add", "SF1321934960512", "--phone", "1234", "--json"))
    assert ok[0]["status"] == "in_transit"


def test_add_from_stdin_is_one_transaction(tracked: Any) -> None:
    bad = cli("add", "-", input="YT6247854916511\nnot a number at all!\n")
    assert_one_line_error(bad)
    assert as_json(cli("list", "--all", "--json")) == []
    good = cli("add", "-", "--no-track", input="YT6247854916511 yuantong\n# comment\n\n"
               "773027491214552\n")
    assert good.returncode == 0, good.stderr
    assert len(as_json(cli("list", "--all", "--json"))) == 2


def test_other_providers_by_flag(tracked: Any) -> None:
    seventeen = as_json(cli("add", "RB123456785CN", "--provider", "17track", "--json"))
    assert seventeen[0]["status"] == "exception"
    cainiao = as_json(cli("add", "LP00123456789012", "--provider", "cainiao", "--json"))
    assert cainiao[0]["status"] == "delivered"
    unknown = as_json(cli("add", "LP00000000000000", "--provider", "cainiao", "--json"))
    assert unknown[0]["status"] == "unknown"


def test_list_page_and_count(tracked: Any) -> None:
    numbers = [f"YT93000{i:08d}" for i in range(7)]
    assert cli("add", *numbers, "--carrier", "yuantong", "--no-track").returncode == 0
    page = cli("list", "--limit", "3", "--format", "table")
    assert page.returncode == 0
    assert "还有 4 件" in page.stdout  # the default language
    piped = cli("list", "--limit", "3")  # TSV: the hint goes to stderr, not into the rows
    assert len(piped.stdout.splitlines()) == 3 and "还有 4 件" in piped.stderr


def test_archive_and_rm(tracked: Any) -> None:
    assert cli("add", "3950055201640", "--carrier", "yunda").returncode == 0
    assert cli("archive", "3950055201640").returncode == 0
    assert as_json(cli("list", "--json")) == []
    assert len(as_json(cli("list", "--all", "--json"))) == 1
    assert cli("rm", "3950055201640", "--yes").returncode == 0
    assert as_json(cli("list", "--all", "--json")) == []
    assert_one_line_error(cli("rm", "3950055201640", "--yes"))


# -- bad input ------------------------------------------------------------------------------

def test_unknown_provider(tracked: Any) -> None:
    err = assert_one_line_error(cli("add", "YT6247854916511", "--provider", "nosuch"))
    assert "unknown provider" in err and "parcelctl providers" in err


def test_malformed_number(tracked: Any) -> None:
    assert_one_line_error(cli("add", "abc"))
    assert_one_line_error(cli("add", "'; DROP TABLE parcels; --"))


def test_missing_credentials() -> None:
    result = cli("add", "YT6247854916511", "--provider", "kuaidi100", "--carrier", "yuantong")
    err = assert_one_line_error(result)
    assert "kuaidi100" in err and "config set" in err


def test_wrong_key_is_a_clear_error_and_stores_nothing_new(tracked: Any) -> None:
    assert cli("config", "set", "providers.kuaidi100.key", "wrong-key").returncode == 0
    result = cli("add", "YT6247854916511")  # autonumber with a wrong key, or query
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "kuaidi100" in result.stderr
    assert "wrong-key" not in result.stderr + result.stdout


def test_broken_config(parcelctl_home: Path) -> None:
    parcelctl_home.mkdir(parents=True, exist_ok=True)
    (parcelctl_home / "config.toml").write_text("this is = = not toml [")
    err = assert_one_line_error(cli("list"))
    assert "config.toml" in err
    assert (parcelctl_home / "config.toml").read_text() == "this is = = not toml ["


@pytest.mark.parametrize("content", [b"hello, not a database at all" * 10, b""])
def test_foreign_or_garbage_db_file(parcelctl_home: Path, content: bytes) -> None:
    parcelctl_home.mkdir(parents=True, exist_ok=True)
    db = parcelctl_home / "parcels.db"
    db.write_bytes(content)
    result = cli("add", "YT6247854916511", "--carrier", "yuantong", "--no-track")
    if content:
        err = assert_one_line_error(result)
        assert "parcels.db" in err
        assert db.read_bytes() == content  # unchanged
    else:
        assert result.returncode == 0  # an empty file is a new database


def test_other_programs_sqlite_db(parcelctl_home: Path) -> None:
    parcelctl_home.mkdir(parents=True, exist_ok=True)
    path = parcelctl_home / "parcels.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE recipes (name TEXT)")
    other.execute("INSERT INTO recipes VALUES ('dumplings')")
    other.commit()
    other.close()
    before = path.read_bytes()
    for args in (["list"], ["add", "YT6247854916511", "--carrier", "yuantong", "--no-track"],
                 ["sync"]):
        err = assert_one_line_error(cli(*args))
        assert "another program" in err
    assert path.read_bytes() == before


def test_corrupt_db(parcelctl_home: Path, tracked: Any) -> None:
    assert cli("add", "YT6247854916511", "--no-track").returncode == 0
    path = parcelctl_home / "parcels.db"
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # smash the first page's b-tree
    path.write_bytes(bytes(data))
    err = assert_one_line_error(cli("list"))
    assert "parcels.db" in err


def test_garbage_from_server_keeps_store(tracked: Any) -> None:
    assert cli("add", "3950055201640", "--carrier", "yunda").returncode == 0
    before = as_json(cli("show", "3950055201640", "--json"))
    assert cli("config", "set", "polling.min_minutes", "0").returncode == 0
    assert cli("config", "set", "providers.kuaidi100.min_interval_minutes", "0").returncode == 0
    control(tracked, "faults", {"service": "kuaidi100", "kind": "html200"})
    result = cli("sync", "--force")
    err = assert_one_line_error(result, code=1)
    assert "kuaidi100" in err
    after = as_json(cli("show", "3950055201640", "--json"))
    assert after["events"] == before["events"] and after["status"] == before["status"]


def test_debug_shows_traceback_only_with_flag(parcelctl_home: Path) -> None:
    parcelctl_home.mkdir(parents=True, exist_ok=True)
    (parcelctl_home / "config.toml").write_text("[[[")
    plain = cli("list")
    assert "Traceback" not in plain.stderr
    debug = cli("--debug", "list")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr


def test_config_roundtrip_and_secret_redaction(parcelctl_home: Path) -> None:
    assert cli("config", "set", "providers.kuaidi100.customer", "CUST").returncode == 0
    assert cli("config", "set", "providers.kuaidi100.key", "S3cretKey!").returncode == 0
    assert cli("config", "set", "polling.in_transit", "120").returncode == 0
    assert cli("config", "get", "polling.in_transit").stdout.strip() == "120"
    assert cli("config", "get", "providers.kuaidi100.key").stdout.strip() == "******"
    shown = cli("config", "show")
    assert "S3cretKey!" not in shown.stdout and "CUST" in shown.stdout
    assert "S3cretKey!" not in (parcelctl_home / "config.toml").read_text()
    assert (parcelctl_home / "config.toml").stat().st_mode & 0o777 == 0o600
    assert (parcelctl_home / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert cli("config", "unset", "providers.kuaidi100.key").returncode == 0
    assert_one_line_error(cli("config", "get", "providers.kuaidi100.key"))
    assert_one_line_error(cli("config", "set", "providers.tracking.default", "kuaishou"))
    assert_one_line_error(cli("config", "set", "bad..key", "1"))


def test_providers_json() -> None:
    data = as_json(cli("providers", "--json"))
    names = {p["name"]: p for p in data}
    assert {"kuaidi100", "17track", "cainiao", "kuaishou"} <= set(names)
    assert names["cainiao"]["configured"] is True
    assert names["kuaidi100"]["configured"] is False
    assert names["kuaidi100"]["kind"] == "tracking"


@pytest.mark.parametrize("extra", [(), ("--no-track",)])
def test_add_refuses_a_shop_platform_as_tracker(parcelctl_home: Path,
                                                extra: tuple[str, ...]) -> None:
    """A parcel "tracked" by kuaishou was stored and never polled, silently."""
    err = assert_one_line_error(cli("add", "YT5555555555556", "--provider", "kuaishou",
                                    *extra))
    assert "not a tracking provider" in err and "kuaidi100" in err
    assert cli("list", "--json").stdout.strip() in ("", "[]")


def test_rm_and_archive_pick_one_of_a_numbers_carriers(parcelctl_home: Path) -> None:
    """The error for a number stored under two carriers used to point at no way out."""
    for carrier in ("yuantong", "zhongtong"):  # known codes: add refuses unknown ones
        assert cli("add", "YT6247854916511", "--carrier", carrier, "--no-track").returncode == 0
    err = assert_one_line_error(cli("rm", "YT6247854916511"))
    assert "carriers: yuantong, zhongtong" in err or "carriers: zhongtong, yuantong" in err
    assert "--carrier" in err
    assert cli("archive", "YT6247854916511", "--carrier", "yuantong").returncode == 0
    assert cli("rm", "YT6247854916511", "-c", "ZHONGTONG", "--yes").returncode == 0
    left = as_json(cli("list", "--all", "--json"))
    assert [(p["carrier"], p["archived"]) for p in left] == [("yuantong", True)]
