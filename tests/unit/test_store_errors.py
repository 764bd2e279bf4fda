"""SQLite failures of the machine (not of parcelctl) become one-line StoreErrors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from parcelctl.errors import StoreError
from parcelctl.store import explain


def _error_of(db: sqlite3.Connection, sql: str) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        db.execute(sql)
    return caught.value


def test_a_read_only_database(tmp_path: Path) -> None:
    path = tmp_path / "parcels.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    problem = explain(_error_of(db, "INSERT INTO t VALUES (1)"), path)
    assert isinstance(problem, StoreError)
    assert problem.render() == (f"{path} cannot be written (read-only file, directory or disk)"
                                " — check the permissions of the file and its directory")


def test_a_full_database(tmp_path: Path) -> None:
    path = tmp_path / "parcels.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    error = _error_of(db, "INSERT INTO t SELECT zeroblob(100000)")
    problem = explain(error, path)
    assert problem is not None and "is full" in problem.render()


def test_bugs_stay_unexpected(tmp_path: Path) -> None:
    db = sqlite3.connect(":memory:")
    assert explain(_error_of(db, "SELECT * FROM nowhere"), tmp_path / "x.db") is None
    assert explain(ValueError("not sqlite"), tmp_path / "x.db") is None


def test_opening_a_store_on_a_read_only_disk_says_so(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A good store that cannot be written (read-only mount, another user's file) is not
    "not a usable database — move the file away": that advice would lose nothing here but
    send the user after the wrong problem."""
    from parcelctl.store import Store

    path = tmp_path / "parcels.db"
    Store(path).close()
    plain = sqlite3.connect(path)
    plain.execute("PRAGMA journal_mode = DELETE")  # opening must write to go back to WAL
    plain.close()
    connect = sqlite3.connect

    def read_only(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.pop("uri", None)
        return connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)  # as the kernel would refuse writes
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert caught.value.render() == (
        f"{path} cannot be written (read-only file, directory or disk)"
        " — check the permissions of the file and its directory")


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\x07" * 4000])
def test_a_damaged_store_keeps_its_own_advice(tmp_path: Path, content: bytes) -> None:
    from parcelctl.store import Store

    path = tmp_path / "parcels.db"
    path.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert "is not a usable parcelctl database" in caught.value.render()
    assert "move the file away (it was left unchanged)" in caught.value.render()
    assert path.read_bytes() == content
