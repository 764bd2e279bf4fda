"""`parcelctl import` and `parcelctl collected` as users run them (subprocesses, no network:
import never tracks, the next sync does). Texts: pickup-texts.md rows (sources in
tests/fixtures/pickup_texts.json); JSON shapes of SmsForwarder (pppscn/SmsForwarder
``WebhookUtils.kt``: from/content/timestamp in ms) and Tasker (seconds)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import load_fixture

from .clihelp import as_json, assert_one_line_error, cli

ROWS = {s["id"]: s["text"] for s in load_fixture("pickup_texts.json")["samples"]}
#: 2026-12-07 09:15 China time, as SmsForwarder sends it (milliseconds).
STAMP_MS = 1796606100000


def _lines(*objects: dict[str, object]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def test_json_lines_of_a_forwarding_app(tmp_path: Path) -> None:
    assert cli("add", "YT9693083636017", "--carrier", "yuantong", "--no-track").returncode == 0
    path = tmp_path / "sms.jsonl"
    path.write_text(_lines(
        {"from": "106550000", "content": ROWS[2], "timestamp": STAMP_MS},   # SmsForwarder
        {"from": "106550001", "content": ROWS[1], "timestamp": str(STAMP_MS)},
        {"from": "10690000", "content": ROWS[15], "timestamp": STAMP_MS},   # food delivery
    ), encoding="utf-8")
    report = as_json(cli("import", str(path), "--json"))
    assert report["counts"] == {"attached": 1, "pickup": 1, "unrecognised": 1}
    first, second, third = report["results"]
    assert (first["reference"], first["codes"]) == ("YT9693083636017", ["1-4-4230"])
    assert second["deadline"] == "2026-12-07T20:30:00+08:00"
    assert third["preview"].startswith("【蜂鸟配送】") and third["reference"] is None

    listed = as_json(cli("list", "--json"))
    by_kind = {p["kind"]: p for p in listed}
    assert by_kind["pickup"]["pickup_code"] == "10-2-7507"
    assert by_kind["pickup"]["station"] == "武汉市尚璟瑞府11栋101门店"
    assert by_kind["pickup"]["pickup"]["reference"] == "PU-10-2-7507"
    assert by_kind["waybill"]["station"] == "尚璟瑞府妈妈驿站"
    attention = as_json(cli("list", "--attention", "--json"))
    assert {p["kind"] for p in attention} == {"pickup", "waybill"}
    shown = as_json(cli("show", "PU-10-2-7507", "--json"))
    assert shown["events"][0]["code"] == "text"

    again = as_json(cli("import", str(path), "--json"))
    assert again["counts"] == {"duplicate": 2, "unrecognised": 1}

    done = cli("collected", "10-2-7507")
    assert done.returncode == 0 and "PU-10-2-7507" in done.stdout
    assert [p["kind"] for p in as_json(cli("list", "--json"))] == ["waybill"]


def test_plain_text_from_stdin_and_tasker_field(tmp_path: Path) -> None:
    order = "【圆通速递】复制单号 YT9693083639795"  # constructed
    text = f"{ROWS[4]}\n\n{ROWS[7]}\n\n\n{order}\n"
    result = cli("import", "-", input=text)
    assert result.returncode == 0, result.stderr
    assert "3 messages: 1 added, 2 pickup item" in result.stdout
    tasker = _lines({"sms": {"body": ROWS[11], "from": "95546"}, "timestamp": 1796606100})
    report = as_json(cli("import", "--field", "sms.body", "--json", input=tasker))
    assert report["results"][0]["outcome"] == "pickup"


def test_dry_run_saves_nothing() -> None:
    result = cli("import", "--dry-run", input=ROWS[4])
    assert result.returncode == 0 and "dry run, nothing saved" in result.stdout
    assert as_json(cli("list", "--json")) == []


def test_bad_input_is_one_line() -> None:
    assert "no file" in assert_one_line_error(cli("import", "/nonexistent/sms.txt"))
    assert "not one" in assert_one_line_error(cli("import", input="[{\"text\": 1"))
    assert "--field needs JSON" in assert_one_line_error(
        cli("import", "--field", "content", input=ROWS[4]))
    assert "nothing waiting" in assert_one_line_error(cli("collected", "1-1-1111"))


def test_an_oversized_message_is_refused_and_the_rest_saved() -> None:
    lines = _lines({"text": ROWS[4]}, {"text": "取件码 1-1-1001 " + "啊" * 5000}, {"text": 7})
    result = cli("import", input=lines)
    assert result.returncode == 3, result.stderr  # partial: the rest was saved
    assert "#2: message 2 is 5,013 characters long" in result.stderr
    assert "#3: message 3 has no text, content or body field" in result.stderr
    assert "1 pickup item" in result.stdout
    assert "Traceback" not in result.stderr
    assert len(as_json(cli("list", "--json"))) == 1


def test_the_demo_texts_show_all_three_outcomes() -> None:
    """`parcelctl demo` imports these after tracking DPK364112047425 (ends with 7425)."""
    from parcelctl.cli.demo import DEMO_TEXTS

    assert cli("add", "DPK364112047425", "--no-track").returncode == 0
    report = as_json(cli("import", "--json", input=DEMO_TEXTS))
    assert [r["outcome"] for r in report["results"]] == ["attached", "pickup", "added"]
    assert report["results"][0]["reference"] == "DPK364112047425"
    assert report["results"][2]["added"] == ["YT9693083639795"]
    table = cli("list", env={"COLUMNS": "200"}).stdout
    assert "80475521" in table and "枫林小区东门丰巢柜" in table  # codes and stations
    assert "10-2-7507" in table and "武汉市尚璟瑞府11栋101门店" in table
