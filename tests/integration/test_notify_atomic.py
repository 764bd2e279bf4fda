"""Notifications are written in the same transaction as the change they announce."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from parcelctl.config import Config
from parcelctl.notify import Recorder
from parcelctl.store import Store
from parcelctl.sync import Syncer


def _configured(sandbox: Any) -> Config:
    config = Config()
    for key, value in sandbox.sandbox.credentials()["kuaidi100"].items():
        config.set(f"providers.kuaidi100.{key}", value)
    config.set("providers.tracking.default", "kuaidi100")
    config.set("notify.command.run", "cat > /dev/null")
    return config


def test_changes_and_notifications_commit_together(sandbox: Any) -> None:
    config = _configured(sandbox)
    config.paths.ensure()
    with Store(config.paths.db_file) as store:
        with store.transaction():
            store.add_parcel("773027491214552", "shentong", tracking_provider="kuaidi100")
        # No after_sync: as if the process died right after the sync's commit.
        syncer = Syncer(config, store, on_changes=Recorder(config, store))
        summary = asyncio.run(syncer.run())
        assert summary.exit_code == 0
    db = sqlite3.connect(config.paths.db_file)
    rows = db.execute("SELECT kind FROM notifications").fetchall()
    assert rows == [("ready_for_pickup",)]


def test_a_failing_unit_rolls_back_its_notifications(sandbox: Any) -> None:
    config = _configured(sandbox)
    config.paths.ensure()
    with Store(config.paths.db_file) as store:
        with store.transaction():
            store.add_parcel("773027491214552", "shentong", tracking_provider="kuaidi100")
        record = Recorder(config, store)

        def record_then_fail(changes: list[Any]) -> None:
            record(changes)
            raise RuntimeError("crash inside the transaction")

        syncer = Syncer(config, store, on_changes=record_then_fail)
        with pytest.raises(RuntimeError):
            asyncio.run(syncer.run())
    db = sqlite3.connect(config.paths.db_file)
    assert db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 0
    assert db.execute("SELECT status FROM parcels").fetchone()[0] == "unknown"
