"""A tracking provider's answers are saved as they come: a failure keeps what came before it.

Kuaidi100 bills every query and allows a number to be asked about again only after 30
minutes. Answers thrown away with a failed run are paid for twice, and their numbers asked
about again too soon.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest

from parcelctl.config import Config
from parcelctl.errors import StoreError
from parcelctl.store import Store
from parcelctl.sync import Syncer, _AnswerWriter

#: Numbers the sandbox answers with a synthetic timeline (at least one scan each).
NUMBERS = [f"YT{9_300_000_000_000 + i * 7:013d}" for i in range(8)]


def _configured(sandbox: Any, **extra: Any) -> Config:
    config = Config()
    for key, value in sandbox.sandbox.credentials()["kuaidi100"].items():
        config.set(f"providers.kuaidi100.{key}", value)
    for key, value in extra.items():
        config.set(f"providers.kuaidi100.{key}", value)
    config.set("providers.tracking.default", "kuaidi100")
    config.paths.ensure()
    return config


def _add(config: Config, numbers: list[str]) -> None:
    with Store(config.paths.db_file) as store, store.transaction():
        for number in numbers:
            store.add_parcel(number, "yuantong", tracking_provider="kuaidi100")


def _quota(sandbox: Any, left: int | None) -> None:
    httpx.post(f"{sandbox.base_url}/_sandbox/service/kuaidi100", json={"quota": left},
               timeout=5.0).raise_for_status()


def _asked(sandbox: Any) -> dict[str, int]:
    numbers: dict[str, int] = sandbox.sandbox.stats.snapshot()["numbers"]
    return {key.split(" ", 1)[1]: n for key, n in numbers.items()
            if key.startswith("kuaidi100 ")}


def _sync(config: Config) -> Any:
    with Store(config.paths.db_file) as store:
        return asyncio.run(Syncer(config, store).run())


def _parcels(config: Config) -> dict[str, tuple[str, str | None, int]]:
    """number -> (status, checked_at, events)"""
    db = sqlite3.connect(config.paths.db_file)
    try:
        return {str(number): (str(status), checked, int(events)) for number, status, checked,
                events in db.execute(
                    "SELECT number, status, checked_at, (SELECT count(*) FROM events e"
                    " WHERE e.parcel_id = p.id) FROM parcels p")}
    finally:
        db.close()


def test_answers_before_a_quota_failure_are_kept(sandbox: Any) -> None:
    # One request at a time, so "the first five" is exact.
    config = _configured(sandbox, concurrency=1)
    _add(config, NUMBERS)
    _quota(sandbox, 5)

    summary = _sync(config)

    (unit,) = summary.units
    assert not unit.ok and "quota" in (unit.error or "")
    assert summary.exit_code == 1  # the only provider failed
    parcels = _parcels(config)
    answered = {n for n, (_, checked, _) in parcels.items() if checked is not None}
    assert len(answered) == 5
    for number in answered:  # saved whole: status and events together
        status, _, events = parcels[number]
        assert status != "unknown" and events > 0, number
    for number in set(NUMBERS) - answered:
        assert parcels[number] == ("unknown", None, 0), number
    assert unit.changed == len(summary.changes) == 5
    assert unit.answered == 5
    asked_at = {key.split(" ", 1)[1]: times[0]
                for key, times in sandbox.sandbox.stats.number_times.items()}
    assert [c.number for c in summary.changes] == sorted(answered, key=asked_at.__getitem__)

    # Quota again: the next run asks only about the numbers that got no answer.
    _quota(sandbox, None)
    sandbox.sandbox.stats.reset()
    again = _sync(config)
    assert again.exit_code == 0
    assert set(_asked(sandbox)) == set(NUMBERS) - answered
    assert all(checked is not None for _, checked, _ in _parcels(config).values())


def test_answers_are_committed_while_the_run_goes_on(sandbox: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each transaction holds at most FLUSH_ITEMS answers: another connection sees the
    first ones committed before the last request has left."""
    monkeypatch.setattr(_AnswerWriter, "FLUSH_ITEMS", 2)
    config = _configured(sandbox, concurrency=1)
    _add(config, NUMBERS)
    seen: list[int] = []
    probe = sqlite3.connect(config.paths.db_file)
    real_track = None

    async def track_and_probe(self: Any, requests: Any) -> Any:
        seen.append(probe.execute("SELECT count(*) FROM parcels WHERE checked_at IS NOT NULL"
                                  ).fetchone()[0])
        assert real_track is not None
        return await real_track(self, requests)

    from parcelctl.providers.kuaidi100 import Kuaidi100Provider

    real_track = Kuaidi100Provider.track
    monkeypatch.setattr(Kuaidi100Provider, "track", track_and_probe)
    try:
        summary = _sync(config)
    finally:
        probe.close()
    assert summary.exit_code == 0
    # Before request k (0-based), the answers of the pairs already complete are committed.
    assert seen == [k - k % 2 for k in range(len(NUMBERS))]


def test_a_write_that_fails_reports_no_change_it_rolled_back(
        sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second transaction fails inside (its notifications cannot be recorded): the
    provider fails, and the run reports and keeps only the first transaction's changes."""
    monkeypatch.setattr(_AnswerWriter, "FLUSH_ITEMS", 2)
    config = _configured(sandbox, concurrency=1)
    _add(config, NUMBERS)
    calls: list[int] = []

    def record(changes: list[Any]) -> None:
        calls.append(len(changes))
        if len(calls) == 2:
            raise StoreError("the notifications could not be recorded")

    with Store(config.paths.db_file) as store:
        summary = asyncio.run(Syncer(config, store, on_changes=record).run())
    (unit,) = summary.units
    assert not unit.ok and "notifications" in (unit.error or "")
    saved = {n for n, (_, checked, _) in _parcels(config).items() if checked is not None}
    assert len(saved) == 2 and calls == [2, 2]
    assert {c.number for c in summary.changes} == saved
    assert unit.changed == unit.answered == 2


def test_the_report_says_what_a_failed_provider_saved(sandbox: Any) -> None:
    """``parcelctl sync`` (the CLI, as users and cron run it): the error line, then how many
    answers were saved before it."""
    from .clihelp import cli

    config = _configured(sandbox, concurrency=1)
    _add(config, NUMBERS[:4])
    _quota(sandbox, 3)
    result = cli("sync")
    assert result.returncode == 1, result.stderr
    assert "quota" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert ("kuaidi100: 4 parcels, 3 answered and saved before the failure, 3 changed, "
            "4 requests") in result.stdout
