"""Issue 5 §4, the terminal side: text from users and from remote services is stored as is
and shown safely.

* Rich markup (``[bold red]x[/]``, ``[link=…]``) is shown literally, never interpreted;
* terminal control sequences (ANSI colours, OSC 8 hyperlinks, clear-screen, BEL, C1 CSI)
  never reach the terminal from data: a carrier's event text cannot repaint the screen or
  plant a link;
* SQL metacharacters are data; very long and non-ASCII text round-trips; limits are one-line
  errors.
"""

from __future__ import annotations

import io
import json
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from . import world
from .forkcli import ForkCli

MARKUP = "[bold red]x[/] [link=https://evil.example]click[/link] [/]"
CONTROL = ("\x1b[31mred\x1b[0m \x1b[2J\x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\"
           " \x07bell \x9b31m \x00nul")
SQL = "'; DROP TABLE parcels; -- \" % _"
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\x00")


def _row(**values: Any) -> dict[str, Any]:
    base = {"id": 1, "carrier": "yuantong", "number": "YT6247854916511", "kind": "waybill",
            "status": "in_transit", "pickup_code": None, "label": "", "title": "", "shop": "",
            "last_event_desc": "", "last_event_utc": "2024-05-01T04:30:00+00:00",
            "updated_at": "2024-05-01T04:30:00+00:00", "last_error": None}
    return base | values


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The output module's console, as a terminal that shows escapes but adds none itself."""
    from parcelctl.cli import output

    buffer = io.StringIO()
    monkeypatch.setattr(output, "_out", Console(file=buffer, force_terminal=True,
                                                color_system=None, width=240,
                                                highlight=False))
    return buffer


def assert_safe(text: str, *literal: str) -> None:
    for char in FORBIDDEN:
        assert char not in text, (char, text)
    for part in literal:
        assert part in text, (part, text)


@pytest.mark.parametrize("field", ["label", "last_event_desc", "last_error", "title"])
def test_table_shows_hostile_text_literally(screen: io.StringIO, field: str) -> None:
    from parcelctl.cli import output

    rows = [_row(**{field: MARKUP}), _row(id=2, number="YT0000000000001", **{field: CONTROL})]
    output.console().print(output.parcel_table(rows, lang="en", width=240))
    if hasattr(output, "print_parcel_table"):  # the fast path draws the same table
        output.print_parcel_table(rows, lang="en")
    # Columns are clipped: what fits is shown literally, escapes included as text.
    assert_safe(screen.getvalue(), "[bold red]x[/]", "\ufffd[31mred")


def test_timeline_shows_hostile_text_literally(screen: io.StringIO) -> None:
    from parcelctl.cli import output

    parcel = {"tracking_number": "YT6247854916511", "status": "exception",
              "status_label": "exception", "title": MARKUP + CONTROL, "pickup_code": CONTROL,
              "order": {"shop": MARKUP}, "sources": [], "last_error": CONTROL}
    events = [{"time": "2024-05-01T12:30:00+08:00", "description": MARKUP + CONTROL,
               "location": CONTROL}]
    output.timeline(parcel, events, carrier_name="圆通速递 [b]YTO[/b]")
    assert_safe(screen.getvalue(), "[bold red]x[/]", "[link=https://evil.example]click",
                "[b]YTO[/b]", "bell")


def test_error_lines_show_hostile_text_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    from parcelctl.cli import output

    buffer = io.StringIO()
    monkeypatch.setattr(output, "_err", Console(file=buffer, force_terminal=True,
                                                color_system=None, width=240))
    output.error(f"{MARKUP}\n{CONTROL}")
    output.warn(CONTROL)
    text = buffer.getvalue()
    assert_safe(text, "[bold red]x[/]")
    assert len(text.strip().splitlines()) == 2  # one line each


@pytest.fixture(scope="module")
def fork() -> Any:
    server = ForkCli()
    yield server
    server.close()


def test_labels_round_trip_through_the_cli(fork: ForkCli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    labels = {"YT9100000000017": MARKUP, "YT9100000000018": CONTROL.replace("\x00", ""),
              "YT9100000000019": SQL, "YT9100000000020": "包裹 📦 עברית \u202eevil " + "长" * 150}
    for number, label in labels.items():
        result = fork.run(home, "add", number, "--carrier", "yuantong", "--no-track",
                          "--label", label)
        assert result.returncode == 0, result.stderr
        assert_safe(result.stdout + result.stderr)
    listed = fork.run(home, "list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    stored = {p["tracking_number"]: p["label"] for p in json.loads(listed.stdout)}
    assert stored == labels  # byte for byte, control characters included (JSON escapes them)
    for args in (("list",), ("list", "--all"), ("show", "YT9100000000017"),
                 ("show", "YT9100000000018"), ("show", "YT9100000000019")):
        shown = fork.run(home, *args)
        assert shown.returncode == 0, shown.stderr
        assert_safe(shown.stdout + shown.stderr)
    human = fork.run(home, "show", "YT9100000000017").stdout
    assert "[bold red]x[/]" in human and "[link=https://evil.example]click" in human
    assert "red" in fork.run(home, "show", "YT9100000000018").stdout
    with closing(world.connect(home)) as db:
        assert db.execute("SELECT count(*) FROM parcels").fetchone()[0] == 4
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("args", [
    ("add", "YT\x1b]8;;https://evil.example\x07123456"),
    ("add", "\x1b[2J" * 50),
    ("add", "X" * 10_000),
    ("add", SQL),
    ("show", SQL),
    ("show", "\x1b[31mYT6247854916511"),
    ("add", "YT9100000000017", "--carrier", "\x1b[31myuantong"),
    ("add", "YT9100000000017", "--label", "x" * 201),
    ("add", "YT9100000000017", "--phone", "\x1b[2J1234"),
    ("config", "set", "providers.\x1b[2J.key", "v"),
    ("config", "get", "a.b.c\x07"),
    ("unlink", "kuaishou:\x1b[2Jx"),
    ("list", "--status", "\x1b[31mdelivered"),
])
def test_hostile_arguments_are_one_safe_line(fork: ForkCli, tmp_path: Path,
                                             args: tuple[str, ...]) -> None:
    home = tmp_path / "home"
    world.add_parcels(home, {"kuaidi100": [("YT6247854916511", "yuantong")]})
    result = fork.run(home, *args)
    assert result.returncode in (1, 2), (result.returncode, result.stderr)
    assert_safe(result.stdout + result.stderr)
    assert "Traceback" not in result.stderr
    if result.returncode == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
        assert len(lines[0]) < 600  # long input is clipped, not echoed in full
    with closing(world.connect(home)) as db:
        assert db.execute("SELECT count(*) FROM parcels").fetchone()[0] == 1
