"""Golden snapshots of the screens people read: list, show, watch (one frame) and digest, at
60, 80 and 120 columns, in both display languages, and through a pipe.

The data is the store ``parcelctl demo`` leaves (tests/golden/demo_store.json, made by
tests/golden/make_store.py) and the clock is fixed at the moment it was dumped, in
Asia/Shanghai, so a snapshot changes only when the layout does: a reviewed diff.

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/integration/test_golden_screens.py

rewrites the snapshots under tests/golden/ (then read the diff).
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

GOLDEN = Path(__file__).parent.parent / "golden"
DUMP = json.loads((GOLDEN / "demo_store.json").read_text(encoding="utf-8"))
NOW = datetime.fromisoformat(DUMP["now"])
WIDTHS = (60, 80, 120)
LANGS = ("zh", "en")
#: view -> the command line (watch: one frame of its live view, drawn directly).
VIEWS: dict[str, list[str]] = {
    "list": ["list"],
    "list-all": ["list", "--all"],
    "show": ["show", "YT6247854916511"],
    "digest": ["digest", "--since", "1d"],
    "watch": [],
}


#: Archived in the snapshots (as `parcelctl archive` would), so that list --all shows
#: the marker.
ARCHIVED = "YT9300001047290"


def load_demo_store(home: Path) -> None:
    """The dumped tables into a fresh store (migrated by Store itself), one parcel
    archived."""
    from parcelctl.store import Store

    home.mkdir(parents=True, exist_ok=True)
    with Store(home / "parcels.db") as store, store.transaction():
        for table, rows in DUMP.items():
            if not isinstance(rows, list):
                continue
            for row in rows:
                columns = ", ".join(row)
                marks = ", ".join("?" * len(row))
                store.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                                 list(row.values()))
        store.db.execute("UPDATE parcels SET archived = 1 WHERE number = ?", (ARCHIVED,))


@pytest.fixture
def demo_home(parcelctl_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from parcelctl.cli import output

    load_demo_store(parcelctl_home)
    monkeypatch.setattr(output, "now", lambda: NOW)
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield parcelctl_home
    monkeypatch.undo()
    time.tzset()


def render(home: Path, monkeypatch: pytest.MonkeyPatch, view: str, lang: str,
           width: int | None, height: int = 30) -> str:
    """The view as the user sees it: a terminal ``width`` wide, or a pipe (None)."""
    from parcelctl.cli import output
    from parcelctl.cli.app import main

    (home / "config.toml").write_text(f'[display]\nlanguage = "{lang}"\n', encoding="utf-8")
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 80, height=height,
                      force_terminal=width is not None, color_system=None, highlight=False,
                      soft_wrap=False, legacy_windows=False)
    monkeypatch.setattr(output, "_out", console)
    monkeypatch.setattr(sys, "stdout", buffer)
    if view == "watch":
        console.print(watch_frame(lang))
    else:
        with pytest.raises(SystemExit) as done:
            main(VIEWS[view])
        assert done.value.code in (0, None), buffer.getvalue()
    return buffer.getvalue()


def watch_frame(lang: str) -> Any:
    """One frame of watch's live view, from the stored data (no sync round)."""
    from parcelctl import views
    from parcelctl.cli import output
    from parcelctl.cli.common import load_config, open_store
    from parcelctl.cli.watch import View

    view = View(lang)
    with open_store(load_config(), readonly=True) as store:
        view.rows, view.total = views.list_parcels(store.db, limit=output.console().height,
                                                   columns=views.TABLE_COLUMNS)
        view.next_due = store.next_due()
    view.last_refresh = NOW
    view.next_round = time.monotonic() + 60.5
    view.recent = ["09:46 YT6247854916511: 派送中 -> 已签收" if lang == "zh"
                   else "09:46 YT6247854916511: out for delivery -> delivered"]
    return view


def _cases() -> list[tuple[str, str, int | None]]:
    cases: list[tuple[str, str, int | None]] = []
    for view in VIEWS:
        for lang in LANGS:
            cases += [(view, lang, width) for width in WIDTHS]
            if view != "watch":  # piped, watch prints a line per change instead
                cases.append((view, lang, None))
    return cases


@pytest.mark.parametrize(("view", "lang", "width"), _cases())
def test_screen_matches_its_snapshot(demo_home: Path, monkeypatch: pytest.MonkeyPatch,
                                     view: str, lang: str, width: int | None) -> None:
    height = 12 if view == "watch" else 30
    shown = render(demo_home, monkeypatch, view, lang, width, height)
    name = f"{view}-{lang}-{width or 'pipe'}.txt"
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(shown, encoding="utf-8")
    assert path.exists(), f"no snapshot {name}: run with UPDATE_GOLDEN=1 and review it"
    assert shown == path.read_text(encoding="utf-8"), f"{name} changed (UPDATE_GOLDEN=1)"
