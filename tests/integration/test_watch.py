"""watch, sync under cron conditions and notifications, against the sandbox over loopback.

The sandbox clock moves parcels along their timelines; the real clock cannot be moved inside
a subprocess, so "time has passed for our polling policy too" is done by clearing
``next_check_at`` (``make_due``) or with ``sync --force``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from parcelctl.cli.app import main
from parcelctl.config import Config
from parcelctl.lock import SyncLock

from .clihelp import cli, stats

SF = "SF1321934960512"  # in transit; out for delivery at +4h, delivered at +7h (phone 1234)
POST = "1240921381750"  # in transit at +3h, locker with code 692035 at +40h, collected at +60h
PARCELS = f"{SF} shunfeng\n{POST} youzhengguonei\n"


@dataclass
class World:
    sandbox: Any
    home: Path
    notes: Path

    def advance(self, hours: float) -> None:
        httpx.post(f"{self.sandbox.base_url}/_sandbox/clock", json={"advance": hours * 3600})

    def make_due(self, *numbers: str) -> None:
        with sqlite3.connect(self.home / "parcels.db") as db:
            if numbers:
                db.executemany("UPDATE parcels SET next_check_at = NULL WHERE number = ?",
                               [(n,) for n in numbers])
            else:
                db.execute("UPDATE parcels SET next_check_at = NULL")

    def notifications(self) -> list[dict[str, Any]]:
        if not self.notes.exists():
            return []
        return [json.loads(line) for line in self.notes.read_text().splitlines() if line]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.home / "parcels.db")

    def kuaidi100_requests(self) -> int:
        return sum(n for key, n in stats(self.sandbox)["requests"].items()
                   if key.startswith("kuaidi100"))


def config_set(key: str, value: str) -> None:
    """``parcelctl config set KEY VALUE`` (in-process: same command, no interpreter start)."""
    with pytest.raises(SystemExit) as exited:
        main(["config", "set", key, value])
    assert exited.value.code == 0


@pytest.fixture
def world(sandbox: Any, parcelctl_home: Path, capsys: pytest.CaptureFixture[str]) -> World:
    for key, value in sandbox.sandbox.credentials()["kuaidi100"].items():
        config_set(f"providers.kuaidi100.{key}", str(value))
    config_set("providers.tracking.default", "kuaidi100")
    # Simulated days pass on the sandbox clock, not on ours: lift the real-time floors so
    # `sync --force` / make_due() reach the server (the floors have their own tests).
    config_set("polling.min_minutes", "0")
    config_set("providers.kuaidi100.min_interval_minutes", "0")
    notes = parcelctl_home / "notes.jsonl"
    config_set("notify.command.run", f"cat >> {notes}")
    added = cli("add", "-", "--phone", "1234", input=PARCELS)
    assert added.returncode == 0, added.stderr
    capsys.readouterr()
    return World(sandbox, parcelctl_home, notes)


def test_watch_once_prints_change_lines_when_not_a_terminal(world: World) -> None:
    before = world.kuaidi100_requests()
    idle = cli("watch", "--once")  # both parcels were just checked by `add`: nothing is due
    assert idle.returncode == 0 and idle.stdout == ""
    assert world.kuaidi100_requests() == before
    world.advance(5)
    world.make_due()
    first = cli("watch", "--once")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"{SF}: 运输中 -> 派送中 — 快件交给陈**，正在派送途中"
        "（联系电话：138****1234）",
        f"{POST}: 已发货 -> 运输中 — 离开长沙处理中心，发往上海处理中心",
    ]
    assert "\x1b[" not in first.stdout  # plain text, no Live escape codes
    # watch notifies exactly like sync does.
    assert [(n["number"], n["new_status"]) for n in world.notifications()] == [
        (SF, "out_for_delivery")]

    world.make_due()
    again = cli("watch", "--once")  # same sandbox time: nothing new
    assert again.returncode == 0 and again.stdout == ""

    world.advance(35)  # +40h: the post parcel reaches the locker; SF is long delivered
    world.make_due()
    later = cli("watch", "--once")
    assert later.stdout.splitlines() == [
        f"{SF}: 派送中 -> 已签收 — 快件已签收,签收人: 本人",
        f"{POST}: 运输中 -> 待取件 取件码 692035 — "
        "已投递到上海市浦东新区丰巢智能柜，取件码 692035",
    ]
    statuses = [n["new_status"] for n in world.notifications()]
    # One run found both changes: their relative order is not defined.
    assert statuses[0] == "out_for_delivery"
    assert sorted(statuses[1:]) == ["delivered", "ready_for_pickup"]
    pickup = next(n for n in world.notifications() if n["new_status"] == "ready_for_pickup")
    assert pickup["pickup_code"] == "692035"


def test_watch_survives_network_errors_and_retries(world: World) -> None:
    world.advance(5)
    world.make_due(SF)
    httpx.post(f"{world.sandbox.base_url}/_sandbox/faults",
               json={"service": "kuaidi100", "kind": "http502"})
    proc = subprocess.Popen([sys.executable, "-m", "parcelctl", "watch", "--rounds", "2",
                             "--interval", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        warning = proc.stderr.readline()  # the first round failed and said so
        assert warning.startswith("warning: kuaidi100:") and "502" in warning
        httpx.delete(f"{world.sandbox.base_url}/_sandbox/faults")  # the network is back
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.splitlines()[0].startswith(f"{SF}: 运输中 -> 派送中")
    assert [n["new_status"] for n in world.notifications()] == ["out_for_delivery"]


def test_watch_defers_to_a_running_sync_and_still_shows_its_changes(world: World) -> None:
    world.advance(5)
    world.make_due()
    config = Config()
    lock = SyncLock(config.paths.lock_file, wait=False)
    assert lock.acquire()  # a cron `sync` is running
    before = world.kuaidi100_requests()
    proc = subprocess.Popen([sys.executable, "-m", "parcelctl", "watch", "--rounds", "2",
                             "--interval", "2.5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        assert "another sync is running" in proc.stderr.readline()
        assert world.kuaidi100_requests() == before  # watch fetched nothing itself
        # Meanwhile the cron sync (holding the lock) does the work.
        from parcelctl.notify import after_sync
        from parcelctl.store import Store
        from parcelctl.sync import Syncer

        with Store(config.paths.db_file) as store:
            summary = asyncio.run(Syncer(config, store).run())
            after_sync(config, store, summary)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        lock.release()
    assert proc.returncode == 0
    assert [line.split(" ")[0:4] for line in out.splitlines()] == [
        [f"{SF}:", "运输中", "->", "派送中"],
        [f"{POST}:", "已发货", "->", "运输中"]]
    assert len(world.notifications()) == 1  # notified by the sync, not again by watch


def test_two_syncs_never_run_at_once(world: World) -> None:
    config = Config()
    lock = SyncLock(config.paths.lock_file, wait=False)
    assert lock.acquire()
    try:
        refused = cli("sync", "--no-wait")
        assert refused.returncode == 5
        assert "another sync is running" in refused.stderr
        waiting = subprocess.Popen([sys.executable, "-m", "parcelctl", "sync", "--quiet"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert waiting.poll() is None  # queued behind the lock, not failed
    finally:
        lock.release()
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert out == ""  # --quiet and nothing due

    world.advance(5)
    procs = [subprocess.Popen([sys.executable, "-m", "parcelctl", "sync", "--force", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1] for r in results]
    changes = [c for out, _ in results for c in json.loads(out)["changes"]
               if c["old_status"] != c["status"]]
    # Serialized: the first saw the change, the second found it already stored.
    assert sorted((c["tracking_number"], c["status"]) for c in changes) == [
        (POST, "in_transit"), (SF, "out_for_delivery")]
    with world.db() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM sync_runs WHERE finished_at IS NULL"
                          ).fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM deliveries WHERE delivered_at IS NULL"
                          ).fetchone()[0] == 0
    assert len(world.notifications()) == 1


@pytest.mark.slow
def test_cron_loop_over_simulated_days_notifies_once_per_real_change(world: World) -> None:
    quiet: list[str] = []
    for hours in (0, 5, 3, 35, 27, 0):  # sandbox time +0h, +5h, +8h, +43h, +70h, +70h
        world.advance(hours)
        result = cli("sync", "--quiet", "--force")
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        quiet += result.stdout.splitlines()
        if hours == 35:  # +43h: the post parcel waits in a locker
            check_digest_while_waiting(world)
    plain = cli("sync", "--quiet")  # nothing due, nothing to say
    assert plain.returncode == 0 and plain.stdout == ""

    notes = [n for n in world.notifications() if n["type"] == "status_change"]
    got = [(n["number"], n["new_status"], n["pickup_code"]) for n in notes]
    assert got == [(SF, "out_for_delivery", None), (SF, "delivered", None),
                   (POST, "ready_for_pickup", "692035"), (POST, "delivered", "692035")]
    assert [n["notification_id"] for n in notes] == [1, 2, 3, 4]
    # cron mail: one line per change that needs a human, nothing else.
    assert [line.split(":")[0] for line in quiet] == [SF, SF, POST, POST]
    assert "取件码 692035" in quiet[2]
    # Delivered parcels are never asked about again.
    numbers = stats(world.sandbox)["numbers"]
    assert numbers[f"kuaidi100 {SF}"] == 4  # add, +0h, +5h, +8h (delivered)
    assert numbers[f"kuaidi100 {POST}"] == 6  # add, +0h … +70h (collected)

    digest = cli("digest", "--json")
    assert digest.returncode == 0, digest.stderr
    seen = [(c["number"], c["old_status"], c["status"]) for c in json.loads(digest.stdout)[
        "changes"]]
    assert seen == [(SF, "in_transit", "out_for_delivery"), (POST, "info_received", "in_transit"),
                    (SF, "out_for_delivery", "delivered"),
                    (POST, "in_transit", "ready_for_pickup"), (POST, "ready_for_pickup",
                                                               "delivered")]


def check_digest_while_waiting(world: World) -> None:
    text = cli("digest", "--format", "text")
    assert text.returncode == 0, text.stderr
    assert f"待取件  {POST}  取件码 692035" in text.stdout
    sent = cli("digest", "--send", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["sent"] == {"command": "ok"}
    digest = world.notifications()[-1]
    assert digest["type"] == "digest"
    assert [(a["reason"], a["number"], a["pickup_code"]) for a in digest["attention"]] == [
        ("pickup", POST, "692035")]
    bad = cli("digest", "--since", "yesterday")
    assert bad.returncode == 1 and "not a duration" in bad.stderr


def test_watch_keeps_saying_that_an_account_needs_linking(parcelctl_home: Path) -> None:
    """watch skips an account marked "reauth"; it said so only in the round that found out,
    then every round exited 0 in silence while that shop's orders stopped coming."""
    from parcelctl.store import Store, now_iso

    config = Config()
    config.paths.ensure()
    with Store(config.paths.db_file) as store, store.transaction():
        store.upsert_account("kuaishou", "shop", linked_at=now_iso(), health="reauth",
                             last_error="the authorization is no longer valid")
    for _ in range(2):
        result = cli("watch", "--once")
        assert result.returncode == 4, result.stderr
        assert "kuaishou:shop is not synced until you run: parcelctl link kuaishou" \
            in result.stderr
