"""Finding parcels and reading them in pipes (issue 17, items 3, 4, 6, 7 and 14), on the
store ``parcelctl demo`` leaves (tests/golden/demo_store.json) with the clock fixed."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from .test_golden_screens import ARCHIVED, NOW, load_demo_store


@pytest.fixture
def demo(parcelctl_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from parcelctl.cli import output

    load_demo_store(parcelctl_home)
    monkeypatch.setattr(output, "now", lambda: NOW)
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield parcelctl_home
    monkeypatch.undo()
    time.tzset()


def run(monkeypatch: pytest.MonkeyPatch, *args: str, width: int | None = None,
        lang: str = "en", home: Path | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one in-process run; a terminal ``width`` wide, or a
    pipe (None)."""
    from parcelctl.cli import output
    from parcelctl.cli.app import main

    if home is not None:
        (home / "config.toml").write_text(f'[display]\nlanguage = "{lang}"\n')
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(output, "_out", Console(
        file=out, width=width or 80, force_terminal=width is not None, color_system=None,
        highlight=False, soft_wrap=False))
    monkeypatch.setattr(output, "_err", Console(file=err, width=200, color_system=None,
                                                highlight=False))
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return int(done.value.code or 0), out.getvalue(), err.getvalue()


def numbers(tsv: str) -> list[str]:
    return [line.split("\t")[0] for line in tsv.splitlines()]


def listed(monkeypatch: pytest.MonkeyPatch, home: Path, *args: str) -> list[str]:
    code, out, err = run(monkeypatch, "list", *args, home=home)
    assert code == 0, err
    return numbers(out)


def test_piped_list_is_tsv_with_full_text_and_format_chooses(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 3: not a terminal -> tab-separated rows, nothing cut, whatever the width."""
    code, out, _ = run(monkeypatch, "list", "--all", home=demo)
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == 32 and all(len(row) == 10 for row in rows)
    pickup = next(row for row in rows if row[0] == "773027491214552")
    assert pickup[1:6] == ["shentong", "ready_for_pickup", "ready for pickup", "A-7-3021",
                           "demo · 蓝牙耳机 降噪版"]
    assert pickup[6] == "快件已暂存至武汉光谷兔喜生活店，凭取件码 A-7-3021 取件"
    failed = next(row for row in rows if row[0] == "75312345678901")
    assert failed[7].endswith("(or: parcelctl config set providers.kuaidi100.phone LAST4)")
    assert "…" not in out
    code, table, _ = run(monkeypatch, "list", "--all", "--format", "table", home=demo)
    assert "Number" in table and "─" in table
    code, text, _ = run(monkeypatch, "list", "--format", "csv", home=demo)
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0][:3] == ["number", "carrier", "status"] and len(parsed) == 18
    code, text, _ = run(monkeypatch, "list", "--format", "json", home=demo)
    assert [p["tracking_number"] for p in json.loads(text)][:1] == ["JT0006968326954"]
    code, _, err = run(monkeypatch, "list", "--format", "yaml", home=demo)
    assert code == 2 or (code == 1 and "use one of: table, tsv, csv, json" in err)


def test_the_terminal_gets_the_table(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(monkeypatch, "list", width=80, home=demo)
    assert code == 0 and out.splitlines()[0].split() == ["Number", "Status", "Last", "event",
                                                        "Changed"]
    assert out.splitlines()[1].strip().startswith("──")


def test_sorted_by_the_time_the_age_shows(demo: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """Item 4: the rows go newest first by the very time the Changed column shows."""
    _, out, _ = run(monkeypatch, "list", "--all", home=demo)
    times = [line.split("\t")[8] for line in out.splitlines()]
    assert times == sorted(times, reverse=True)
    _, table, _ = run(monkeypatch, "list", "--all", width=120, home=demo)
    import re

    ages = [line.split()[-1] for line in table.splitlines()[2:]
            if re.fullmatch(r"now|\d+[mhd]", line.split()[-1])]
    assert len(ages) == 32

    def minutes(age: str) -> float:
        return float(age[:-1]) * {"m": 1, "h": 60, "d": 1440}[age[-1]] if age != "now" else 0

    assert [minutes(a) for a in ages] == sorted(minutes(a) for a in ages)


def test_archived_rows_are_marked(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, table, _ = run(monkeypatch, "list", "--all", width=120, home=demo)
    line = next(line for line in table.splitlines() if ARCHIVED in line)
    assert "delivered, archived" in line
    _, tsv, _ = run(monkeypatch, "list", "--all", home=demo)
    assert next(r for r in tsv.splitlines() if r.startswith(ARCHIVED)).endswith("\tarchived")
    _, zh, _ = run(monkeypatch, "list", "--all", width=120, lang="zh", home=demo)
    assert "已签收·已归档" in next(line for line in zh.splitlines() if ARCHIVED in line)


@pytest.mark.parametrize(("query", "expected"), [
    ("YT62478", {"YT6247854916511"}),            # number
    ("yt 6247-8549", {"YT6247854916511"}),       # typed with spaces and dashes
    ("保温杯", {"KS-2415000000000000", "75312345678901", "YT9300001675664"}),  # title
    ("跨境", {"RB123456785CN"}),                   # label
    ("A-7-3021", {"773027491214552"}),          # pickup code
    ("德邦快递接单", {"DPK364112047425"}),          # last event text
    ("100%_", set()),                            # LIKE wildcards match themselves
])
def test_list_query_finds_parcels(demo: Path, monkeypatch: pytest.MonkeyPatch, query: str,
                                  expected: set[str]) -> None:
    assert set(listed(monkeypatch, demo, query, "--all")) == expected


def test_list_query_by_shop_name(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shops = {p["order"]["shop"] for p in json.loads(run(
        monkeypatch, "list", "--all", "--json", home=demo)[1]) if p.get("order")}
    shop = sorted(s for s in shops if s)[0]
    found = listed(monkeypatch, demo, "--all", "--shop", shop[:3])
    assert found and set(found) == set(listed(monkeypatch, demo, shop, "--all"))


def test_filters_by_carrier_and_provider(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert listed(monkeypatch, demo, "--all", "--carrier", "cainiao") == ["LP00123456789012"]
    assert set(listed(monkeypatch, demo, "--all", "-c", "圆通")) == set(
        listed(monkeypatch, demo, "--all", "-c", "yuantong"))
    assert listed(monkeypatch, demo, "--all", "-c", "YTO Express")[0].startswith("YT")
    by_17track = listed(monkeypatch, demo, "--all", "--provider", "17track")
    assert by_17track == ["RB123456785CN"]
    from_shop = listed(monkeypatch, demo, "--all", "--provider", "kuaishou")
    assert "KS-2415000000000000" in from_shop and "RB123456785CN" not in from_shop


@pytest.mark.parametrize("name", ["delivered", "已签收", "Delivered", "DELIVERED "])
def test_status_by_code_or_label_without_all(demo: Path, monkeypatch: pytest.MonkeyPatch,
                                             name: str) -> None:
    """Item 6: a status that is not active shows its parcels without --all (not the
    archived ones: those need --all)."""
    found = listed(monkeypatch, demo, "--status", name, "--limit", "100")
    assert "YT6247854916511" in found and ARCHIVED not in found and len(found) == 10
    assert ARCHIVED in listed(monkeypatch, demo, "--status", name, "--all")


def test_status_by_english_words_and_several(demo: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    pickups = listed(monkeypatch, demo, "-s", "ready for pickup")
    assert len(pickups) == 4
    assert listed(monkeypatch, demo, "-s", "ready-for-pickup") == pickups
    assert listed(monkeypatch, demo, "-s", "待取件") == pickups
    both = listed(monkeypatch, demo, "-s", "待取件,exception")
    assert len(both) == 6


@pytest.mark.parametrize(("typo", "nearest"), [("deliverd", "delivered"),
                                               ("ready for pick", "ready_for_pickup"),
                                               ("in-transt", "in_transit")])
def test_status_typo_suggests_the_nearest(demo: Path, monkeypatch: pytest.MonkeyPatch,
                                          typo: str, nearest: str) -> None:
    code, out, err = run(monkeypatch, "list", "--status", typo, home=demo)
    assert code == 1 and out == ""
    assert f"did you mean '{nearest}'?" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_limit_is_honoured_with_all(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """"The last 3 delivered" is ``list --status delivered -n 3``; --all -n 3 too."""
    last3 = listed(monkeypatch, demo, "--status", "delivered", "-n", "3")
    assert last3 == ["YT6247854916511", "YT9300002094580", "LP00123456789012"]
    assert len(listed(monkeypatch, demo, "--all", "-n", "3")) == 3
    _, out, _ = run(monkeypatch, "list", "--all", "-n", "2", "--json", home=demo)
    assert len(json.loads(out)) == 2
    assert len(listed(monkeypatch, demo, "--all")) == 32  # --all alone: every row


def test_label_is_set_shown_searched_and_cleared(demo: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 7."""
    code, out, _ = run(monkeypatch, "label", "3950055201640", "mum's  birthday", home=demo)
    assert code == 0 and "labelled 'mum's birthday'" in out
    assert listed(monkeypatch, demo, "birthday") == ["3950055201640"]
    _, table, _ = run(monkeypatch, "list", "birthday", width=80, home=demo)
    assert "mum's birthday" in table  # the item column gave way: before the last event
    _, wide, _ = run(monkeypatch, "list", "birthday", width=140, home=demo)
    assert "mum's birthday" in wide
    shown = json.loads(run(monkeypatch, "show", "3950055201640", "--json", home=demo)[1])
    assert shown["label"] == "mum's birthday"
    code, out, _ = run(monkeypatch, "label", "3950055201640", "--clear", home=demo)
    assert code == 0 and listed(monkeypatch, demo, "birthday") == []
    code, _, err = run(monkeypatch, "label", "3950055201640", home=demo)
    assert code == 1 and "--clear" in err
    code, _, err = run(monkeypatch, "label", "NOSUCH123", "x", home=demo)
    assert code == 1 and "no parcel" in err
    code, _, err = run(monkeypatch, "label", "3950055201640", "x" * 101, home=demo)
    assert code == 1 and "at most 100" in err


def test_show_wraps_and_never_cuts(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 1: the whole timeline at 60 and 80 columns and in a pipe."""
    text = "快件已由成都双流区红树湾二期店菜鸟驿站代收，请凭取件码 3-2-1107 及时取件"
    for width in (60, 80, None):
        _, out, _ = run(monkeypatch, "show", "YT6247854916511", width=width, home=demo)
        joined = "".join(line.strip() for line in out.splitlines())
        assert text.replace(" ", "") in joined.replace(" ", ""), width
        assert "…" not in out
        if width:
            assert all(len(line) <= width for line in out.splitlines())
    _, piped, _ = run(monkeypatch, "show", "YT6247854916511", home=demo)
    assert any(text in line for line in piped.splitlines())  # one line, for grep


def test_accounts_and_digest_are_tsv_in_a_pipe(demo: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    code, out, _ = run(monkeypatch, "accounts", home=demo)
    assert code == 0 and out.split("\t")[:2] == ["kuaishou:demo-shop", "ok"]
    code, out, _ = run(monkeypatch, "digest", "--since", "1d", home=demo)
    rows = [line.split("\t") for line in out.splitlines()]
    assert code == 0 and {row[0] for row in rows} == {"change", "attention"}
    assert all(len(row) == 8 for row in rows)
    code, text, _ = run(monkeypatch, "digest", "--since", "1d", "--format", "text", home=demo)
    assert text.startswith("Changes (15)")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_language_per_run(demo: Path, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """Item 14: headers, digest and watch lines speak the configured language only."""
    from parcelctl.cli.watch import Seen, change_line

    _, table, _ = run(monkeypatch, "list", width=120, lang=lang, home=demo)
    _, digest, _ = run(monkeypatch, "digest", "--since", "1d", "--format", "text",
                       lang=lang, home=demo)
    line = change_line(None, Seen("YT1", "ready_for_pickup", "", "8-2-4410", ""), lang)
    if lang == "zh":
        assert table.split()[:2] == ["快递", "单号"]
        assert "已等 27天12小时" in digest and "新 -> 已发货" in digest
        assert line == "YT1: 新 -> 待取件 取件码 8-2-4410"
        for english in ("Changes", "new ->", "for ", "pickup code", "Number"):
            assert english not in digest + table
    else:
        assert table.split()[:2] == ["Carrier", "Number"]
        assert "for 27d 12h" in digest and "new -> info received" in digest
        assert line == "YT1: new -> ready for pickup, pickup code 8-2-4410"
        for chinese in ("已等", "新 ->", "取件码", "已发货", "变化"):
            assert chinese not in digest + table




@pytest.mark.parametrize("lang", ["zh", "en"])
def test_watch_in_a_small_terminal_says_how_many_more(demo: Path, lang: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 5: 12 rows show what fits and "N more"; one time format, the zone once."""
    import re

    from parcelctl.cli import output

    from .test_golden_screens import render

    frame = render(demo, monkeypatch, "watch", lang, 80, height=12).splitlines()
    assert len(frame) <= 12
    rows = [line for line in frame if re.search(r"\d+[mhd]\s*$|now\s*$", line)]
    more = f"还有 {17 - len(rows)} 件" if lang == "zh" else f"{17 - len(rows)} more"
    assert len(rows) >= 3 and frame[-3].strip() == more
    footer = frame[-1]
    assert footer.count("+0800") == 1
    assert re.findall(r"\d\d:\d\d(?::\d\d)?", footer) == ["13:51", "09:46"]  # no seconds
    assert output.now() == NOW
