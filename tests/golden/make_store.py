"""Regenerate tests/golden/demo_store.json: the store ``parcelctl demo`` leaves behind.

    python tests/golden/make_store.py

Runs the demo (the sandbox, a throwaway home, links a shop, adds parcels, syncs), then
dumps the tables the screens read, with the moment of the dump as ``now``: the golden
snapshots render with the clock fixed there, so they never change by themselves. Run it
only when the demo's data changes, then regenerate the snapshots (UPDATE_GOLDEN=1).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
TABLES = ("parcels", "events", "sources", "accounts", "sync_runs", "notifications")
#: Columns SQLite computes itself (not insertable).
GENERATED = {"active"}


def main() -> None:
    run = subprocess.run([sys.executable, "-m", "parcelctl", "demo", "--keep"],
                         capture_output=True, text=True, timeout=300, check=True)
    now = datetime.now(UTC).replace(microsecond=0)
    found = re.search(r"demo home kept at (\S+)", run.stdout)
    if found is None:
        raise SystemExit(f"demo did not keep its home:\n{run.stdout}\n{run.stderr}")
    home = Path(found.group(1))
    db = sqlite3.connect(home / "parcels.db")
    db.row_factory = sqlite3.Row
    dump: dict[str, object] = {"now": now.isoformat()}
    for table in TABLES:
        rows = [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid")]
        dump[table] = [{k: v for k, v in row.items() if k not in GENERATED} for row in rows]
    db.close()
    shutil.rmtree(home, ignore_errors=True)
    (HERE / "demo_store.json").write_text(
        json.dumps(dump, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
