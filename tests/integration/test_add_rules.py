"""``parcelctl add``: junk is refused before anything is stored, one exit-code rule, bulk
adds print a summary, and pasted numbers are cleaned (issue 17, items 8-10)."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from .clihelp import as_json, assert_one_line_error, cli, configure


@pytest.fixture
def tracked(sandbox: Any) -> Any:
    configure(sandbox, "kuaidi100", "17track", "cainiao")
    assert cli("config", "set", "providers.tracking.default", "kuaidi100").returncode == 0
    return sandbox


def _stored(home: Path) -> list[str]:
    db = home / "parcels.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT number FROM parcels ORDER BY id")]


# -- item 8: carriers ---------------------------------------------------------------------

def test_carriers_lists_codes_with_both_names() -> None:
    result = cli("carriers")
    assert result.returncode == 0, result.stderr
    for code, zh, en in (("yuantong", "圆通速递", "YTO Express"),
                         ("shunfeng", "顺丰速运", "SF Express")):
        line = next(line for line in result.stdout.splitlines() if line.startswith(code + " "))
        assert zh in line and en in line


def test_carriers_query_matches_code_and_either_name() -> None:
    assert [c["code"] for c in as_json(cli("carriers", "顺丰", "--json"))] == [
        "shunfeng", "shunfengkuaiyun"]
    assert "yuantong" in {c["code"] for c in as_json(cli("carriers", "yto", "--json"))}
    assert "zhongtong" in {c["code"] for c in as_json(cli("carriers", "ZHONG", "--json"))}
    assert_one_line_error(cli("carriers", "no-such-carrier"))


# -- item 10: refused before storing --------------------------------------------------------

def test_unknown_carrier_is_refused_with_the_nearest_code(tracked: Any,
                                                          parcelctl_home: Path) -> None:
    err = assert_one_line_error(cli("add", "YT6247854916511", "--carrier", "yuantng"))
    assert "unknown carrier code 'yuantng'" in err and "yuantong" in err
    assert "parcelctl carriers" in err
    assert_one_line_error(cli("add", "YT6247854916511", "--carrier", "nosuch", "--no-track"))
    assert _stored(parcelctl_home) == []


def test_a_bad_stdin_line_is_named_and_nothing_is_stored(tracked: Any,
                                                         parcelctl_home: Path) -> None:
    text = "# my parcels\nYT6247854916511\n\n773027491214552 nosuch\n"
    err = assert_one_line_error(cli("add", "-", "--no-track", input=text))
    assert err.startswith("error: line 4: unknown carrier code 'nosuch'"), err
    err = assert_one_line_error(cli("add", "-", "--no-track",
                                    input="YT6247854916511\nSF1321934960512\n"))
    assert err.startswith("error: line 2: kuaidi100: SF1321934960512"), err  # needs a phone
    assert "--phone" in err
    assert _stored(parcelctl_home) == []


def test_too_short_for_the_provider_is_refused(tracked: Any, parcelctl_home: Path) -> None:
    err = assert_one_line_error(cli("add", "12345", "--carrier", "yunda"))
    assert "too short for kuaidi100" in err and "6–32" in err
    err = assert_one_line_error(cli("add", "12345", "--provider", "cainiao"))
    assert "too short for cainiao" in err
    assert _stored(parcelctl_home) == []


def test_short_phone_says_it_needs_the_last_4_digits(tracked: Any) -> None:
    err = assert_one_line_error(cli("add", "SF1321934960512", "--phone", "12"))
    assert "needs the last 4 digits" in err


def test_a_duplicate_says_already_tracked(tracked: Any, parcelctl_home: Path) -> None:
    assert cli("add", "3950055201640", "--carrier", "yunda", "--no-track").returncode == 0
    again = cli("add", "3950055201640", "--carrier", "yunda", "--no-track")
    assert again.returncode == 0, again.stderr
    assert "3950055201640: already tracked" in again.stdout
    assert _stored(parcelctl_home) == ["3950055201640"]


@pytest.mark.parametrize("pasted", ["ＹＴ６２４７８５４９１６５１１", "YT6247854916511。",
                                    "“YT6247854916511”，", "ＹＴ6247 8549 1651１！"])
def test_full_width_and_chinese_punctuation_are_normalised(tracked: Any, parcelctl_home: Path,
                                                           pasted: str) -> None:
    result = cli("add", pasted, "--no-track")
    assert result.returncode == 0, result.stderr
    assert _stored(parcelctl_home) == ["YT6247854916511"]


# -- item 10: one exit-code rule ----------------------------------------------------------

def test_exit_codes_refused_1_stored_but_failed_3_tracked_0(tracked: Any,
                                                            parcelctl_home: Path) -> None:
    # refused: nothing stored
    assert_one_line_error(cli("add", "SF1321934960512"), code=1)
    assert _stored(parcelctl_home) == []
    # stored and tracked
    assert cli("add", "YT6247854916511").returncode == 0
    # stored, but the provider refused this parcel's phone
    wrong = cli("add", "SF1321934960512", "--phone", "9999")
    assert wrong.returncode == 3, (wrong.stdout, wrong.stderr)
    assert "SF1321934960512" in _stored(parcelctl_home)


def test_unreachable_provider_exits_3_with_the_parcel_stored(tracked: Any,
                                                             parcelctl_home: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/kuaidi100"
    assert cli("config", "set", "providers.kuaidi100.base_url", url).returncode == 0
    result = cli("add", "3950055201640", "--carrier", "yunda")
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert _stored(parcelctl_home) == ["3950055201640"]
    assert f"127.0.0.1:{port}" in result.stderr  # the error names what it could not reach


# -- item 9: bulk add ---------------------------------------------------------------------

def test_bulk_add_prints_a_summary_past_a_screenful(parcelctl_home: Path) -> None:
    lines = [f"YT9{i:012d}" for i in range(60)] + ["3950055201640 yunda"]
    result = cli("add", "-", "--no-track", input="\n".join(lines) + "\n",
                 env={"LINES": "30", "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "added 61 parcels" in out
    assert "圆通速递 60" in out and "韵达快递 1" in out  # counts by carrier
    assert "未知 61" in out  # counts by status
    assert "Number" not in out  # no 61-row table
    assert len(out.splitlines()) < 10
    assert len(_stored(parcelctl_home)) == 61


def test_small_add_still_prints_the_table(parcelctl_home: Path) -> None:
    result = cli("add", "YT9000000000001", "YT9000000000002", "--no-track")
    assert result.returncode == 0, result.stderr
    assert "YT9000000000001" in result.stdout and "YT9000000000002" in result.stdout


def test_bulk_add_json_has_every_parcel(parcelctl_home: Path) -> None:
    lines = [f"YT9{i:012d}" for i in range(40)]
    result = cli("add", "-", "--no-track", "--json", input="\n".join(lines))
    assert len(json.loads(result.stdout)) == 40


# -- the tracker used when none is configured ---------------------------------------------

def test_add_says_when_it_falls_back_to_the_unofficial_cainiao_endpoint() -> None:
    result = cli("add", "YT6247854916511", "--no-track")
    assert result.returncode == 0, result.stderr
    assert "Cainiao" in result.stderr and "unofficial" in result.stderr
    assert "kuaidi100" in result.stderr  # and says what to set up instead
    configured = cli("add", "LP00123456789012", "--provider", "cainiao", "--no-track")
    assert "unofficial" not in configured.stderr  # chosen on purpose: no warning
