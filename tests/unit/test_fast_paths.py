"""The performance shortcuts give exactly what the slow paths gave.

* ``print_parcel_table`` prints a long table in pieces (its layout: test_table_layout.py);
* ``stream_all_json`` writes the same bytes as ``json.dumps`` per parcel;
* the Typer start-up shim coerces and rejects options exactly like Typer;
* the list indexes let SQLite read a page straight off an index;
* ``store.iso`` writes the text ``strftime`` wrote (stored values must keep comparing).
"""

from __future__ import annotations

import io
import json
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from parcelctl import views
from parcelctl.cli import output
from parcelctl.store import Store, iso

TEXTS = ["快件已揽收", "派件中，快递员电话 138****0000", "Out for delivery 🚚", "tab\there",
         "x" * 90, "［全角］テスト", "[bold]markup[/]", "ctrl\x07\x1b[31mred", "",
         "  spaces   here  ", "é́ combining", "⚠ emoji 👨‍👩‍👧", 'quote " and \\ slash',
         "line\nbreak"]


def _row(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": i,
        "number": rng.choice(["YT9100000699300", "SF1", "LP00123456789012X", "KS-2415000"]),
        "carrier": rng.choice(["yuantong", "", "zhongtong", "weird-carrier-code-long", "jd"]),
        "kind": rng.choice(["waybill", "order"]),
        "status": rng.choice(["in_transit", "ready_for_pickup", "delivered", "bogus"]),
        "pickup_code": rng.choice([None, "8-2-4410", "很长的取件码 12345"]),
        "label": rng.choice(["", "bench 3", rng.choice(TEXTS)]),
        "title": rng.choice(["", rng.choice(TEXTS)]),
        "shop": rng.choice(["", "沙盒小店"]),
        "last_event_desc": rng.choice([*TEXTS, None]),
        "last_error": rng.choice([None, None, "phone required — run: parcelctl add X"]),
        "last_event_utc": rng.choice([None, "2026-11-20T10:00:00+00:00", "bad"]),
        "updated_at": "2026-11-25T10:00:00+00:00",
    }


def test_a_long_table_is_drawn_by_the_fast_path_in_pieces(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """`list --all` of a big store: no Rich table (25 s and 590 MB for 100,000 rows), and
    a print per PRINT_LINES lines, so output starts at once."""
    rng = random.Random(7)
    rows = [_row(rng, i) | {"label": "bench", "title": "", "last_event_desc": "快件已揽收"}
            for i in range(2500)]
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, highlight=False, soft_wrap=False)
    prints: list[int] = []
    real_print = console.print
    monkeypatch.setattr(console, "print", lambda *a, **k: prints.append(1) or real_print(*a, **k))
    monkeypatch.setattr(output, "_out", console)
    output.print_parcel_table(rows, lang="zh")
    assert len(prints) == -(-(len(rows) + 2) // output.PRINT_LINES)
    lines = buffer.getvalue().splitlines()
    from rich.cells import cell_len

    assert len(lines) == len(rows) + 2  # the header, its rule, a line per row
    assert len({cell_len(line) for line in lines}) == 1  # one width: the table's
    assert all(row["number"] in line for row, line in zip(rows, lines[2:], strict=True))


@pytest.mark.parametrize("color", [False, True])
def test_info_lines_prints_what_info_printed_line_by_line(color: bool,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    rng = random.Random(11)
    lines = [(rng.choice(TEXTS) * rng.randint(0, 3), rng.choice(["", "bold", "red", "dim"]))
             for _ in range(200)] + [("", ""), ("  last", "bold")]
    outputs = []
    for batched in (False, True):
        buffer = io.StringIO()
        console = Console(file=buffer, width=40, highlight=False, force_terminal=color,
                          color_system="truecolor" if color else None)
        monkeypatch.setattr(output, "_out", console)
        if batched:
            output.info_lines(lines)
        else:
            for text, style in lines:
                output.info(text, style=style)
        outputs.append(buffer.getvalue())
    assert outputs[0] == outputs[1]
    buffer = io.StringIO()
    monkeypatch.setattr(output, "_out", Console(file=buffer))
    output.info_lines([])
    assert buffer.getvalue() == ""


def test_stream_all_json_is_byte_identical_to_json_dumps(tmp_path: Path) -> None:
    from parcelctl.models import Status, TrackingEvent, TrackResult

    when = datetime.fromisoformat("2026-01-02T03:04:05+08:00")
    with Store(tmp_path / "p.db") as store, store.transaction():
        for i, text in enumerate(TEXTS):
            pid, _ = store.add_parcel(f"YT{9100000000000 + i:013d}", "yuantong",
                                      tracking_provider="kuaidi100", label=text,
                                      source=("kuaishou", "shop", f"oid-{i}") if i % 2 else None)
            store.apply_result(pid, TrackResult(f"YT{9100000000000 + i:013d}", "yuantong",
                                                Status.IN_TRANSIT,
                                                events=[TrackingEvent(when, text or "x")]),
                               next_check_at=None, checked_at=when)
    with Store(tmp_path / "p.db", readonly=True) as store:
        chunks: list[str] = []
        count = views.stream_all_json(store.db, chunks.append, status=None, attention=False)
        rows, _ = views.list_parcels(store.db, include_all=True, limit=None)
        expected = [json.dumps(item, ensure_ascii=False)
                    for item in views.iter_json(store.db, rows)]
    assert count == len(TEXTS)
    assert "".join(chunks) == "[\n" + ",\n".join(expected) + "\n]\n"


_TEXT = st.text(max_size=12)
_MAYBE = st.one_of(st.none(), _TEXT)
_SCALAR = st.one_of(st.none(), _TEXT, st.integers(), st.floats(), st.booleans())
_SOURCE = st.fixed_dictionaries({"provider": _SCALAR, "account": _SCALAR, "order_id": _SCALAR})
_ROW = st.tuples(
    _TEXT, st.sampled_from(["waybill", "order", "pickup", "other"]), _MAYBE,
    st.one_of(st.sampled_from(["delivered", "in_transit", "awaiting_shipment"]), _TEXT),
    _MAYBE, _MAYBE, _MAYBE, _MAYBE, st.sampled_from([0, 1]), _MAYBE, _MAYBE, _MAYBE,
    _MAYBE, _MAYBE, _MAYBE, st.one_of(st.just(""), _MAYBE), _SCALAR, _SCALAR, _MAYBE, _MAYBE,
    _MAYBE, _MAYBE, _MAYBE, _MAYBE,
    st.one_of(st.none(), st.lists(_SOURCE, max_size=3).map(
        lambda items: json.dumps(items, ensure_ascii=False, separators=(",", ":")))))


@given(_ROW, st.sampled_from(["zh", "en"]))
def test_the_row_writer_is_parcel_json_through_json_dumps(row: tuple[Any, ...],
                                                          lang: str) -> None:
    """``list --all --json`` writes rows through a template; ``parcel_json`` defines the shape."""
    mapping = dict(zip((*views.JSON_COLUMNS, "src"), row, strict=True))
    sources = json.loads(mapping["src"] or "[]")
    expected = json.dumps(views.parcel_json(mapping, sources, lang), ensure_ascii=False)
    assert views.row_json_writer(lang)(row) == expected


def _run(app: Any, *args: str) -> tuple[int, str, Any]:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output, result.return_value


def _probe_app() -> tuple[Any, dict[str, Any]]:
    import typer

    from parcelctl.cli import app as app_module  # installs the shim

    assert app_module.fastparams is not None
    app = typer.Typer()
    seen: dict[str, Any] = {}

    @app.command()
    def main(name: str = typer.Option("x", "--name"),
             limit: int = typer.Option(50, "--limit", min=1),
             ratio: float = typer.Option(0.5, "--ratio", max=1.0),
             flag: bool = typer.Option(False, "--flag"),
             tags: list[str] = typer.Option(None, "--tag")) -> None:
        seen.clear()
        seen.update(name=name, limit=limit, ratio=ratio, flag=flag, tags=tags)

    return app, seen


@pytest.fixture
def probe() -> Any:
    return _probe_app()


def test_the_typer_internals_the_shim_patches_are_still_there() -> None:
    """fastparams patches Typer's private ``_TyperParameter.get_runtime_param`` and uses
    ``typer._coercion.build_runtime_param``: when a Typer release moves them, the shim
    silently does nothing and start-up loses ~150 ms (bench/startup_patches.py). Fail then,
    so the patch is updated or dropped on purpose."""
    from typer import _coercion, core

    from parcelctl.cli import app as app_module  # installs the shim

    assert app_module.fastparams is not None
    assert callable(getattr(_coercion, "build_runtime_param", None))
    assert getattr(core._TyperParameter.get_runtime_param, "_parcelctl", False)


def test_shim_coerces_like_typer(probe: Any) -> None:
    app, seen = probe
    assert _run(app)[0] == 0
    assert seen == {"name": "x", "limit": 50, "ratio": 0.5, "flag": False, "tags": None}
    assert _run(app, "--name", "", "--limit", "007", "--ratio", "1", "--flag",
                "--tag", "b", "--tag", "a")[0] == 0
    assert seen == {"name": "", "limit": 7, "ratio": 1.0, "flag": True, "tags": ["b", "a"]}
    assert type(seen["ratio"]) is float and type(seen["limit"]) is int


def test_shim_answers_what_typer_itself_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same command lines through Typer's own pydantic coercion give the same values."""
    from typer import core

    lines = [[], ["--tag", "x"], ["--tag", "", "--tag", "x"], ["--name", "n", "--flag"],
             ["--limit", "3", "--ratio", "-1"], ["--limit", "+4", "--ratio", "1e-1"]]

    def answers() -> list[Any]:
        app, seen = _probe_app()  # fresh parameters: each caches its coercer
        out = []
        for line in lines:
            code = _run(app, *line)[0]
            out.append((code, {k: (type(v), v) for k, v in seen.items()}))
        return out

    shimmed = answers()
    original = core._TyperParameter.get_runtime_param._parcelctl_original  # type: ignore[attr-defined]
    monkeypatch.setattr(core._TyperParameter, "get_runtime_param", original)
    assert answers() == shimmed
    assert shimmed[2][1]["tags"] == (list, ["", "x"])


@pytest.mark.parametrize(("args", "message"), [
    (["--limit", "0"], "greater than or equal to 1"),
    (["--limit", "abc"], "valid integer"),
    (["--limit", "1.5"], "valid integer"),
    (["--ratio", "2"], "less than or equal to 1"),
    (["--ratio", "nope"], "valid number"),
])
def test_shim_leaves_errors_to_typer(probe: Any, args: list[str], message: str) -> None:
    app, _ = probe
    code, text, _ = _run(app, *args)
    assert code == 2
    assert message in " ".join(text.split())


def test_list_reads_a_page_off_the_index(tmp_path: Path) -> None:
    Store(tmp_path / "p.db").close()
    db = sqlite3.connect(tmp_path / "p.db")
    for where in ("WHERE active = 1", "", "WHERE status = 'in_transit'",
                  "WHERE archived = 0 AND status = 'delivered'"):
        plan = " ".join(str(r[3]) for r in db.execute(
            f"EXPLAIN QUERY PLAN SELECT * FROM parcels {where}{views.ORDER_BY} LIMIT 50"))
        assert "TEMP B-TREE" not in plan, plan
    plan = " ".join(str(r[3]) for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT parcel_id FROM sources WHERE order_id = 'x'"))
    assert "sources_order" in plan


def test_counting_active_parcels_walks_only_indexes(tmp_path: Path) -> None:
    """The page's count under the default list (active parcels, expired pickup items left
    out) reads index entries, not rows: testing each row's kind and expiry read all 100,000
    rows and made list 1.9x the import floor (bench/run.py, all-active store)."""
    from datetime import UTC, datetime

    Store(tmp_path / "p.db").close()
    db = sqlite3.connect(tmp_path / "p.db")
    clause, args = views._filters(status=None, attention=False, active_only=True,
                                  stale_days=7.0, now=datetime.now(UTC))
    plan = " ".join(str(r[3]) for r in db.execute(
        f"EXPLAIN QUERY PLAN SELECT count(*) FROM (SELECT 1 FROM parcels{clause} LIMIT 10)",
        args))
    assert "USING INDEX parcels_active_changed" in plan, plan
    assert "SCAN parcels USING INDEX parcels_pickup_tail" in plan, plan  # the few pickups
    assert "SCAN parcels " not in plan.replace("SCAN parcels USING INDEX", ""), plan


def test_list_counts_only_as_far_as_its_hint_needs(tmp_path: Path) -> None:
    from parcelctl.cli.list_cmd import MORE_UP_TO, more_hint

    with Store(tmp_path / "p.db") as store, store.transaction():
        for i in range(7):
            store.add_parcel(f"YT{9100000000000 + i:013d}", "yuantong",
                             tracking_provider="kuaidi100")
    with Store(tmp_path / "p.db", readonly=True) as store:
        assert views.list_parcels(store.db, limit=2)[1] == 7
        assert views.list_parcels(store.db, limit=2, count_up_to=7)[1] == 7
        rows, total = views.list_parcels(store.db, limit=2, count_up_to=4)
        assert (len(rows), total) == (2, 5)  # "more than 4"
    assert more_hint(7, 2) == "5 more — use --limit N or --all"
    assert more_hint(2, 2) == ""
    assert more_hint(MORE_UP_TO + 50, 50) == f"{MORE_UP_TO} more — use --limit N or --all"
    assert more_hint(MORE_UP_TO + 51, 50) == "over 10,000 more — use --limit N or --all"
    # Everything shown (`--all`, or a --limit above the matches): no hint at all.
    assert more_hint(100_000, 100_000) == ""
    assert more_hint(15_000, 15_000) == ""


def test_list_all_has_no_more_hint_and_a_page_says_how_many_more(
        parcelctl_home: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """The count stops MORE_UP_TO past the page (5 here, for 12 parcels); ``--all`` and a
    limit above the matches show everything and must not claim that more matched."""
    from parcelctl.cli import list_cmd
    from parcelctl.cli.app import main

    with Store(parcelctl_home / "parcels.db") as store, store.transaction():
        for i in range(12):
            store.add_parcel(f"YT{9100000000000 + i:013d}", "yuantong",
                             tracking_provider="kuaidi100")
    monkeypatch.setattr(list_cmd, "MORE_UP_TO", 5)
    (parcelctl_home / "config.toml").write_text('[display]\nlanguage = "en"\n')

    def hint(*args: str) -> list[str]:
        with pytest.raises(SystemExit) as done:
            main(["list", *args])
        assert done.value.code in (0, None)
        out, err = capfd.readouterr()
        return [line.strip() for line in (out + err).splitlines() if "more —" in line]

    assert hint("--limit", "2") == ["over 5 more — use --limit N or --all"]
    assert hint("--limit", "8") == ["4 more — use --limit N or --all"]
    assert hint("--all") == []
    assert hint("--limit", "20") == []


def test_commands_start_without_pydantic_and_list_show_without_httpx_or_models(
        parcelctl_home: Path) -> None:
    with Store(parcelctl_home / "parcels.db") as store, store.transaction():
        store.add_parcel("YT9100000000000", "yuantong", tracking_provider="kuaidi100")
    probe = ("import sys\nfrom parcelctl.cli.app import main\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit:\n    pass\nbad = sorted({m.split('.')[0] for m in sys.modules}"
             " & {'httpx', 'pydantic', 'asyncio'} | {'parcelctl.models'} & set(sys.modules))"
             "\nprint('LOADED', bad)\n")
    for args in (["list"], ["show", "YT9100000000000"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                                text=True, timeout=60)
        assert result.stdout.strip().splitlines()[-1] == "LOADED []", (args, result.stdout,
                                                                       result.stderr)
    # Repeatable options and arguments (list[str]) need no pydantic either; these commands
    # do need httpx and asyncio, and fail here only for want of a tracker.
    for args in (["sync", "--provider", "kuaidi100", "-p", "17track", "--quiet"],
                 ["add", "--no-track", "YT9100000000001", "YT9100000000002"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                                text=True, timeout=60)
        assert "'pydantic'" not in result.stdout.strip().splitlines()[-1], (
            args, result.stdout, result.stderr)


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30)),
       st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_iso_is_the_old_strftime_text(when: datetime, offset_minutes: int) -> None:
    aware = when.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    assert iso(aware) == aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def test_a_big_sync_summary_has_a_short_repr() -> None:
    # asyncio.run() formats the repr of its result when it restores the SIGINT handler.
    from parcelctl.store import Change
    from parcelctl.sync import SyncSummary

    summary = SyncSummary(changes=[Change(i, f"YT{i}", "yuantong", "", "info_received", 0)
                                   for i in range(5000)])
    assert len(repr(summary)) < 200
    assert "changes=5000" in repr(summary)


def test_gc_is_paused_only_inside_and_restored_after_a_failure() -> None:
    import gc

    from parcelctl.sync import _gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), _gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("an import failed")
    assert gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    try:
        with _gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
