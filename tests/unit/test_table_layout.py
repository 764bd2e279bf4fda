"""The parcel table's one layout rule (cli/table.py), for any rows at any width."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from parcelctl.cli.table import (
    EVENT_MIN,
    GAP,
    ParcelTable,
    carrier_names,
    compact_age,
    error_text,
    fit,
)

NOW = datetime(2026, 12, 7, 1, 46, tzinfo=UTC)
TEXTS = ["快件已由成都双流区红树湾二期店菜鸟驿站代收，请凭取件码 3-2-1107 及时取件",
         "Out for delivery 🚚", "tab\there", "x" * 90, "［全角］テスト", "", "line\nbreak",
         "ctrl\x07\x1b[31mred"]


def _row(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": i,
        "number": rng.choice(["YT9100000699300", "SF1321934960512", "KS-2415000000102947",
                              "773027491214552", "LP00123456789012"]),
        "carrier": rng.choice(["yuantong", "", "zhongtong", "shunfeng", "debangwuliu"]),
        "kind": rng.choice(["waybill", "order"]),
        "status": rng.choice(["in_transit", "ready_for_pickup", "delivered",
                              "awaiting_shipment"]),
        "pickup_code": rng.choice([None, "8-2-4410", "A-7-3021"]),
        "label": rng.choice(["", "mum's birthday", "生日礼物"]),
        "title": rng.choice(["", rng.choice(TEXTS)]),
        "shop": rng.choice(["", "沙盒小店"]),
        "last_event_desc": rng.choice([*TEXTS, None]),
        "last_error": rng.choice([None, None, "kuaidi100: X1: phone required — run: parcelctl"]),
        "last_event_utc": rng.choice([None, "2026-12-06T10:00:00+00:00"]),
        "updated_at": "2026-11-25T10:00:00+00:00",
        "archived": rng.choice([0, 0, 1]),
        "tracking_provider": rng.choice(["kuaidi100", "cainiao"]),
    }


def _cells(line: str, table: ParcelTable) -> dict[str, str]:
    """A drawn line cut back into its cells (by the table's widths)."""
    found: dict[str, str] = {}
    rest = line[1:]
    for key in table.columns:
        width = table.widths[key]
        taken = ""
        while cell_len(taken) < width and rest:
            taken += rest[0]
            rest = rest[1:]
        found[key] = taken.strip()
        rest = rest[GAP:]
    return found


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), width=st.integers(60, 200), lang=st.sampled_from(["zh",
                                                                                     "en"]))
def test_number_and_status_whole_and_event_room_at_any_width(seed: int, width: int,
                                                            lang: str) -> None:
    rng = random.Random(seed)
    rows = [_row(rng, i) for i in range(rng.randint(1, 12))]
    table = ParcelTable(rows, lang=lang, width=width, now=NOW)
    lines = [line.plain for line in table.lines()]
    longest = max(cell_len(c.number) for c in table.cells)
    essential = (max(longest, cell_len(table.headers["number"])) + table.widths["status"]
                 + table.widths["age"] + 3 * GAP)
    assert all(cell_len(line) == table.width for line in lines)
    body = lines[2:]
    if essential > width:  # even the number and status do not fit: the number folds
        assert "".join(_cells(line, table)["number"] for line in body) == "".join(
            c.number for c in table.cells)
        return
    assert table.width <= width
    if essential + EVENT_MIN + GAP <= width:
        wanted = max([cell_len(c.event) for c in table.cells]
                     + [cell_len(table.headers["event"])])
        assert table.widths["event"] >= min(EVENT_MIN, wanted)
    assert len(body) == len(rows)  # nothing folds: every number fits
    for cells, line in zip(table.cells, body, strict=True):
        shown = _cells(line, table)
        assert shown["number"] == cells.number
        assert shown["status"] == cells.status
        assert shown["age"] == cells.age


def test_item_gives_way_first_then_carrier_then_event() -> None:
    want = {"carrier": 8, "number": 15, "item": 20, "status": 15, "event": 60, "age": 3}
    wide = fit(200, want, 4)
    assert all(wide[key] == want[key] for key in ("carrier", "number", "status", "age"))
    assert wide["item"] == 20 and wide["event"] == 60
    at_80 = fit(80, want, 4)
    assert at_80["item"] == 0 and at_80["carrier"] and at_80["event"] >= EVENT_MIN
    assert (at_80["number"], at_80["status"], at_80["age"]) == (15, 15, 3)
    at_60 = fit(60, want, 4)
    assert at_60["item"] == 0 and at_60["carrier"] == 0
    assert (at_60["number"], at_60["status"]) == (15, 15) and at_60["event"] >= 10
    at_45 = fit(45, want, 4)
    assert at_45["event"] == 0 and (at_45["number"], at_45["status"]) == (15, 15)


def test_a_number_longer_than_the_terminal_folds_but_stays_whole() -> None:
    rows = [_row(random.Random(1), 1) | {"number": "N" * 40 + "END", "status": "in_transit",
                                         "pickup_code": None, "archived": 0}]
    table = ParcelTable(rows, lang="zh", width=40, now=NOW)
    lines = [line.plain for line in table.lines()][2:]
    assert len(lines) > 1
    assert "".join(_cells(line, table)["number"] for line in lines) == "N" * 40 + "END"


def test_the_issue_80_columns_layout() -> None:
    """issue 17 item 2: at 80 columns a 40-character number, a pickup code and an error."""
    base = _row(random.Random(2), 1)
    rows = [base | {"id": 1, "number": "YT6247854916511", "carrier": "yuantong",
                    "status": "ready_for_pickup", "pickup_code": "3-2-1107", "archived": 0,
                    "last_error": None, "last_event_desc": TEXTS[0],
                    "last_event_utc": (NOW - timedelta(seconds=20)).isoformat()},
            base | {"id": 2, "number": "753123456789012345", "carrier": "",
                    "kind": "waybill", "tracking_provider": "cainiao", "status": "in_transit",
                    "archived": 0, "last_error": "kuaidi100: 753123456789012345: zhongtong "
                    "needs the phone — run: parcelctl add 753123456789012345 --phone LAST4",
                    "last_event_utc": (NOW - timedelta(hours=16, minutes=5)).isoformat()},
            base | {"id": 3, "number": "Q" * 40, "status": "in_transit", "archived": 0,
                    "last_error": None, "last_event_desc": TEXTS[0]}]
    table = ParcelTable(rows, lang="zh", width=80, now=NOW)
    body = [_cells(line.plain, table) for line in list(table.lines())[2:]]
    assert "".join(line["number"] for line in body[2:]) == "Q" * 40  # folded, whole
    assert table.widths["number"] == 18  # the others' numbers set the column
    assert body[0]["number"] == "YT6247854916511"
    assert body[0]["status"] == "待取件 3-2-1107"
    assert body[0]["age"] == "now" and body[1]["age"] == "16h"
    assert cell_len(body[0]["event"]) >= 20
    assert body[1]["event"].startswith("⚠ zhongtong needs")  # the fix, not the number
    assert body[1]["carrier"] == "菜鸟"  # tracked by Cainiao: not "?"


@pytest.mark.parametrize(("seconds", "shown"), [(-5, "now"), (0, "now"), (59, "now"),
                                                (60, "1m"), (5 * 60, "5m"), (16 * 3600, "16h"),
                                                (2 * 86400 + 5, "2d"), (400 * 86400, "400d")])
def test_compact_age(seconds: int, shown: str) -> None:
    assert compact_age((NOW - timedelta(seconds=seconds)).isoformat(), NOW) == shown


def test_carrier_short_names_and_error_text() -> None:
    assert carrier_names("yuantong", "zh") == ("圆通速递", "圆通")
    assert carrier_names("yuantong", "en") == ("YTO Express", "YTO")
    assert carrier_names("youzhengguonei", "zh")[1] == "邮政"
    assert carrier_names("nosuch", "en") == ("nosuch", "nosuch")
    row = {"number": "75312345678901",
           "last_error": "kuaidi100: 75312345678901: zhongtong needs the phone"}
    assert error_text(row) == "zhongtong needs the phone"
    assert error_text({"number": "X", "last_error": "a plain error: here"}) == \
        "a plain error: here"


def test_a_pickup_deadline_stays_short_enough_for_60_and_80_columns() -> None:
    """A code with its deadline (from a text, issue 18) stands in the status cell, which never
    gives way: it must not fold the numbers at 60 columns, nor take the last event's 20
    columns at 80 (issue 17 item 2). Seen in tmux: "截止 12-07 12:30" did both."""
    from parcelctl.cli.table import deadline_note

    soon = datetime.now(UTC) + timedelta(hours=1)
    base = _row(random.Random(3), 1) | {"archived": 0, "last_error": None,
                                        "carrier": "zhongtong", "kind": "waybill"}
    rows = [base | {"id": 1, "number": "PU-10-2-7507", "status": "ready_for_pickup",
                    "pickup_code": "10-2-7507", "pickup_deadline": soon.isoformat(),
                    "station": "武汉市尚璟瑞府11栋101门店", "last_event_desc": TEXTS[0]},
            base | {"id": 2, "number": "KS-2415000000047514", "status": "awaiting_shipment",
                    "pickup_code": None, "kind": "order", "last_event_desc": TEXTS[0]}]
    for width in (60, 80):
        table = ParcelTable(rows, lang="zh", width=width, now=NOW)
        body = [_cells(line.plain, table) for line in list(table.lines())[2:]]
        assert len(body) == len(rows), width  # no number folded
        assert body[1]["number"] == "KS-2415000000047514"
        assert body[0]["status"].startswith("待取件 10-2-7507 ")
        if width == 80:
            assert table.widths["event"] >= EVENT_MIN
    note = deadline_note(soon.isoformat(), "zh")
    assert note.endswith("前") and len(note) <= 8
    assert deadline_note((datetime.now(UTC) - timedelta(hours=1)).isoformat(), "en") == " overdue"
    assert deadline_note((datetime.now(UTC) + timedelta(days=5)).isoformat(), "zh") == ""
