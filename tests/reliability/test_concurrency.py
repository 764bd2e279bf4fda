"""Issue 5 §3: processes at the same time on one home — two ``sync``, ``watch --once``, a
``list``/``show`` loop, and the user's own edits (``add``, ``archive``, ``rm``) while a sync
is waiting on the network.

* nobody ever sees "database is locked" (or any other error);
* the lock works across processes: syncs never overlap (their runs' recorded intervals are
  disjoint), a second ``sync`` waits, ``sync --no-wait`` exits 5 with one line;
* no update is lost: the user's edits made during a sync survive it, the sync's results are
  complete, and a final sync ends with exactly the content of a quiet home plus those edits.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from parcelctl.sandbox.server import RunningSandbox

from . import world
from .forkcli import ForkCli

SLOW_SECONDS = 1.5


def _problems(result: Any) -> list[str]:
    text = result.stdout + result.stderr
    return [word for word in ("locked", "Traceback", "unexpected error") if word in text]


@pytest.mark.timeout(90)
def test_syncs_watch_list_and_edits_together(fleet: list[RunningSandbox], forks: list[ForkCli],
                                             reference: world.Reference,
                                             tmp_path: Path) -> None:
    running = fleet[0]
    home = world.build_home(tmp_path / "home", running, timeout=10.0)
    # Cainiao answers late once: the first sync sits in the network while the user edits.
    world.fault(running, "cainiao", "slow", count=1, seconds=SLOW_SECONDS)
    first = forks[0].start(home, "sync")
    time.sleep(0.4)
    second = forks[1].start(home, "sync")  # must wait for the first one

    readers: list[Any] = []
    stop = threading.Event()

    def read_loop() -> None:
        while not stop.is_set():
            for args in (("list", "--json"), ("list", "--all"), ("show", "3950055201640")):
                readers.append(forks[2].run(home, *args, timeout=30))

    reader = threading.Thread(target=read_loop)
    reader.start()
    try:
        edits = [
            forks[3].run(home, "sync", "--no-wait"),
            forks[3].run(home, "watch", "--once"),
            forks[3].run(home, "add", "YT9555000000001", "--carrier", "yuantong",
                         "--no-track", "--label", "added during sync"),
            forks[3].run(home, "archive", "LP00000000000000"),   # in the slow request
            forks[3].run(home, "rm", "LP00999999999999", "--yes"),        # in the slow request too
        ]
        results = [first.wait(60), second.wait(60)]
    finally:
        stop.set()
        reader.join(60)

    no_wait, watch, *user = edits
    assert no_wait.returncode == 5, no_wait.stderr
    lines = no_wait.stderr.strip().splitlines()
    assert len(lines) == 1 and "another sync is running" in lines[0], no_wait.stderr
    assert watch.returncode == 0, watch.stderr
    for result in user:
        assert result.returncode == 0, result.stderr
    for result in results:
        assert result.returncode == 0, result.stderr  # a removed parcel is no failure
    assert len(readers) >= 6
    for result in [*readers, *edits, *results]:
        assert result.returncode in (0, 5), (result.args, result.stderr)
        assert not _problems(result), (result.args, result.stdout, result.stderr)

    with closing(world.connect(home)) as db:
        runs = db.execute("SELECT started_at, finished_at, exit_code FROM sync_runs"
                          " ORDER BY started_at").fetchall()
    assert len(runs) >= 2
    for earlier, later in itertools.pairwise(runs):
        assert earlier["finished_at"] <= later["started_at"], [tuple(r) for r in runs]

    final = forks[0].run(home, "sync")
    assert final.returncode == 0, final.stderr
    listing = {(p["tracking_number"], p["carrier"]): p
               for p in world.normalized_list(world.list_all_json(home))}
    added = listing.pop(("YT9555000000001", "yuantong"))
    assert added["label"] == "added during sync"
    assert added["status"] != "unknown"  # and the final sync tracked it
    expected = {(p["tracking_number"], p["carrier"]): p for p in reference.listing}
    expected.pop(("LP00999999999999", None))
    expected[("LP00000000000000", None)]["archived"] = True
    assert listing == expected


def _at_once(target: Callable[[str, str, int], None], where: str, count: int) -> None:
    """Three processes run ``target(where, "w0".."w2", count)`` at the same time."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=target, args=(where, f"w{n}", count)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0


def _set_many(path: str, prefix: str, count: int) -> None:
    from parcelctl.config import FileSecretStore

    store = FileSecretStore(Path(path))
    for i in range(count):
        store.set(f"{prefix}.{i}", f"value-{prefix}-{i}")


def test_secret_store_writers_lose_nothing(tmp_path: Path) -> None:
    """``link`` saving a new account's tokens while ``sync`` saves another account's rotated
    ones: both read-modify-write secrets.json. Neither write may be lost (a lost refresh
    token is a lost link)."""
    path = tmp_path / "secrets.json"
    _at_once(_set_many, str(path), 150)
    from parcelctl.config import FileSecretStore

    names = FileSecretStore(path).names()
    assert len(names) == 450, 450 - len(names)
    assert path.stat().st_mode & 0o777 == 0o600


def _config_set_many(home: str, prefix: str, count: int) -> None:
    import os

    os.environ["PARCELCTL_HOME"] = home
    from parcelctl.config import Config

    for i in range(count):
        Config().set(f"test.{prefix}.k{i}", i)


def test_config_writers_lose_nothing(tmp_path: Path) -> None:
    """Three processes running ``config set`` at once: every key they set is in the file."""
    home = tmp_path / "cfg-home"
    _at_once(_config_set_many, str(home), 60)
    import tomllib

    data = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    assert {w: len(keys) for w, keys in data["test"].items()} == {"w0": 60, "w1": 60, "w2": 60}


def test_a_config_loaded_long_ago_writes_no_stale_copy(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    """A long ``link`` (or any process) holding a Config made before someone else's
    ``config set`` must not write its old copy back over that change."""
    monkeypatch.setenv("PARCELCTL_HOME", str(tmp_path / "stale-home"))
    from parcelctl.config import Config

    early, other = Config(), Config()
    other.set("notify.burst", 9)
    early.set("polling.min_minutes", 20)
    early.unset("notify.quiet_hours")  # nothing to drop: must not write the old copy either
    fresh = Config()
    assert fresh.get("notify.burst") == 9 and fresh.get("polling.min_minutes") == 20
    assert early.get("notify.burst") == 9  # and the early one sees the file as it is now
