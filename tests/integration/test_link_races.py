"""`link` and `unlink` next to a running sync, and Ctrl-C during `link`.

A sync that loaded an account before `unlink` put it back when it committed (its parcels too,
after --purge); one that loaded the old tokens before `link` saved refreshed the old grant
over the new link. Both now take the sync lock for their writes. `link` waiting for a
browser callback or a pasted line ignored Ctrl-C until that wait ended (up to 300 s).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from parcelctl.config import Config
from parcelctl.errors import ConfigError, UsageError
from parcelctl.link import link_account, unlink_account
from parcelctl.lock import SyncLock
from parcelctl.store import Store


@pytest.fixture
def config(sandbox: Any, parcelctl_home: Path) -> Config:
    config = Config()
    for key, value in sandbox.sandbox.credentials()["kuaishou"].items():
        config.set(f"providers.kuaishou.{key}", value)
    return config


def _link(config: Config) -> None:
    def visit(url: str) -> str:
        return str(httpx.get(url, follow_redirects=False, timeout=10).headers["location"])

    link_account("kuaishou", visit=visit, show=lambda _text: None, config=config)


def _stored_tokens(config: Config) -> dict[str, Any]:
    raw = config.secrets.get("tokens.kuaishou.default")
    return json.loads(raw) if raw else {}


def _after_release(work: Any) -> tuple[threading.Thread, list[float]]:
    finished: list[float] = []
    thread = threading.Thread(target=lambda: (work(), finished.append(time.monotonic())))
    return thread, finished


@pytest.mark.parametrize("what", ["link", "unlink"])
def test_link_and_unlink_wait_for_a_running_sync(config: Config, what: str) -> None:
    if what == "unlink":
        _link(config)
        work = lambda: unlink_account("kuaishou", purge=True, config=config)  # noqa: E731
    else:
        work = lambda: _link(config)  # noqa: E731
    with SyncLock(config.paths.lock_file):  # what a running sync holds
        thread, finished = _after_release(work)
        thread.start()
        time.sleep(1.5)
        assert not finished, f"{what} wrote while a sync held the lock"
        released = time.monotonic()
    thread.join(timeout=30)
    assert finished and finished[0] >= released
    linked = bool(_stored_tokens(config))
    with Store(config.paths.db_file) as store:
        assert (store.account("kuaishou", "default") is not None) == linked
    assert linked == (what == "link")


def test_unlink_forgets_the_tokens_first(config: Config) -> None:
    """With the secret store refusing, nothing changes and unlink can be run again."""
    _link(config)
    secrets = config.paths.secrets_file
    good = secrets.read_bytes()
    secrets.write_bytes(good[:40])  # corrupt
    with pytest.raises(ConfigError):
        unlink_account("kuaishou", purge=False, config=Config())
    with Store(config.paths.db_file) as store:
        assert store.account("kuaishou", "default") is not None  # still there: try again
    secrets.write_bytes(good)
    unlink_account("kuaishou", purge=False, config=Config())
    assert not _stored_tokens(Config())


@pytest.mark.parametrize("mode", [["--paste"], ["--no-browser", "--timeout", "120"]])
def test_ctrl_c_ends_link_at_once(config: Config, mode: list[str]) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "parcelctl", "link", "kuaishou", "--yes",
                             *mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.5)  # waiting for the browser's callback / the pasted line
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        assert proc.returncode == 130
        assert time.monotonic() - sent < 5
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_an_expired_code_is_this_runs_failure_not_a_lost_link(config: Config,
                                                              sandbox: Any) -> None:
    """Exit 4 and "run: parcelctl link" while `link` itself was running, before."""
    def slow_visit(url: str) -> str:
        location = str(httpx.get(url, follow_redirects=False, timeout=10).headers["location"])
        httpx.post(f"{sandbox.base_url}/_sandbox/clock", json={"advance": 600}, timeout=10)
        return location

    with pytest.raises(UsageError) as info:
        link_account("kuaishou", visit=slow_visit, show=lambda _text: None, config=config)
    assert "not accepted" in str(info.value) and "again" in str(info.value)
    assert not _stored_tokens(config)
