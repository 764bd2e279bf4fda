"""SQLite failures of the machine (not of parcelctl) become one-line StoreErrors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
