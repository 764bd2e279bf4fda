"""Issue 16 §1-3, 5-7: a hostile or broken server, through the sandbox's fault injection
over 127.0.0.1 (``sandbox/hostile.py``).

Whatever one service sends costs that service only: ``sync`` ends with exit 3, one line
naming the provider, ``--json`` printed, the run's row finished, the other providers'
answers saved. Bodies are capped (``http.max_body_mb``) raw and decompressed, every
request has a deadline (``http.timeout``) and the run one too (``sync.deadline``); a clock
step never stalls a run; one answer brings at most ``MAX_EVENTS`` events per parcel; and
server text reaches no sink (views, ``--json``, the log file, ``--debug``) raw.

Each case has its own home against a shared sandbox; faults are cleared between cases.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from parcelctl.boundary import MAX_EVENTS
from parcelctl.errors import ProviderError, TransientError
from parcelctl.http import HttpClient, RetryPolicy
from parcelctl.sandbox.hostile import HOSTILE_TEXT
from parcelctl.sandbox.server import RunningSandbox

from . import world

#: Small limits, so that every case takes seconds.
LIMITS = {"http.max_body_mb": 1}
#: What no sink may carry raw: ESC, BEL, CSI (C1), bidi override and isolate, zero width.
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200b")
TRACKERS = {"kuaidi100", "17track", "cainiao"}


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    sandbox = world.new_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def home(tmp_path: Path, running: RunningSandbox) -> Iterator[Path]:
    world.clear_faults(running)
    yield world.build_home(tmp_path / "home", running, timeout=1.0, extra=LIMITS)
    world.clear_faults(running)
    world.control(running, "service/kuaidi100", {"force_return_code": None})


def sync_json(home: Path, *root: str, timeout: float = 60
              ) -> tuple[dict[str, Any], str, float]:
    """``parcelctl [ROOT OPTIONS] sync --json``: (summary, stderr, seconds)."""
    started = time.monotonic()
    result = world.cli(home, *root, "sync", "--json", timeout=timeout)
    elapsed = time.monotonic() - started
    assert result.stdout, result.stderr  # --json is printed whatever failed
    assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == result.returncode
    return summary, result.stderr, elapsed


def assert_only_failed(home: Path, summary: dict[str, Any], provider: str, *words: str) -> str:
    """Exit 3; ``provider`` failed with a line naming it; every other unit ok and its
    parcels answered; the run's row finished with the same exit code."""
    assert summary["exit_code"] == 3, summary
    units = {u["name"]: u for u in summary["providers"]}
    failed = units.pop(provider)
    assert not failed["ok"]
    error = str(failed["error"])
    assert error.startswith(f"{provider}: ") and "\n" not in error
    for word in words:
        assert word in error, error
    assert all(u["ok"] for u in units.values()), units
    with closing(world.connect(home)) as db:
        for other in TRACKERS - {provider}:
            for number, _ in world.PARCELS[other]:  # the others' answers are saved
                checked = db.execute("SELECT checked_at FROM parcels WHERE number=?",
                                     (number,)).fetchone()[0]
                assert checked is not None, (other, number)
        run = db.execute("SELECT finished_at, exit_code FROM sync_runs ORDER BY id DESC"
                         " LIMIT 1").fetchone()
    assert run["finished_at"] is not None and run["exit_code"] == 3
    return error


# -- §1: a body that breaks parsing is that provider's error ---------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "provider", "words"), [
    ("nested_json", "cainiao", ("nested too deeply",)),
    ("gzip_lie", "17track", ("gzip", "Content-Encoding")),
    ("ancient_time", "kuaidi100", ("0001-01-01", "out of range")),
])
def test_unreadable_answer_fails_only_its_provider(home: Path, running: RunningSandbox,
                                                   kind: str, provider: str,
                                                   words: tuple[str, ...]) -> None:
    """Before: RecursionError, httpx.DecodingError, OverflowError out of ``sync`` (exit 1,
    "unexpected error … report it", nothing printed, the run's row unfinished)."""
    world.fault(running, provider, kind)
    summary, _, _ = sync_json(home)
    assert_only_failed(home, summary, provider, *words)


# -- §2: response size caps ---------------------------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "provider"), [("bomb", "kuaidi100"), ("oversized", "cainiao")])
def test_oversized_answers_are_refused(home: Path, running: RunningSandbox, kind: str,
                                       provider: str) -> None:
    """A 1 GiB gzip bomb and a 100 MB plain body: refused at ``http.max_body_mb`` (1 MB
    here) with a line naming the provider and the setting; the run stays quick."""
    world.fault(running, provider, kind)
    summary, _, elapsed = sync_json(home)
    assert_only_failed(home, summary, provider, "more than 1 MB", "http.max_body_mb")
    assert elapsed < 20


def _peak_while(kind: str, running: RunningSandbox, size: int
                ) -> tuple[float, float, BaseException]:
    """Peak traced memory (MB) and seconds of one request that meets fault ``kind``."""
    world.clear_faults(running)
    world.fault(running, "kuaidi100", kind, size=size)

    async def ask() -> BaseException:
        async with HttpClient("kuaidi100", timeout=10, max_body=2**20,
                              retry=RetryPolicy(attempts=1)) as http:
            try:
                await http.request("POST", f"{running.base_url}/kuaidi100/poll/query.do")
            except BaseException as exc:  # returned for the asserts
                return exc
        raise AssertionError("the answer was accepted")

    tracemalloc.start()
    started = time.monotonic()
    try:
        error = asyncio.run(ask())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        world.clear_faults(running)
    return peak / 2**20, time.monotonic() - started, error


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "size"), [("bomb", 64 * 2**20), ("oversized", 100 * 2**20)])
def test_body_cap_bounds_memory(running: RunningSandbox, kind: str, size: int) -> None:
    """Before: the whole body was read and decompressed (a 1 MB gzip to 1 GB took sync to
    8.4 GB). Now memory stays near the cap, and the refusal comes at once. (The bomb is
    64 MiB here so that the old code fails this test without exhausting the machine.)"""
    peak, seconds, error = _peak_while(kind, running, size)
    assert isinstance(error, ProviderError) and "more than 1 MB" in str(error), error
    assert peak < 12, f"{peak:.1f} MB traced"
    assert seconds < 5


# -- §3: deadlines ----------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_dripping_server_is_cut_at_the_timeout(home: Path, running: RunningSandbox) -> None:
    """One byte every 0.2 s: before, each read was within httpx's per-read timeout and the
    answer took minutes (92 s with ``http.timeout 3``). Now each request ends at
    ``http.timeout`` (1 s here), retries included the provider fails in seconds."""
    world.fault(running, "17track", "drip", seconds=0.2)
    summary, _, elapsed = sync_json(home)
    assert_only_failed(home, summary, "17track", "within 1s", "http.timeout")
    assert elapsed < 15


@pytest.mark.timeout(30)
def test_request_deadline_in_the_client(running: RunningSandbox) -> None:
    world.clear_faults(running)
    world.fault(running, "kuaidi100", "drip", seconds=0.3)

    async def ask() -> None:
        async with HttpClient("kuaidi100", timeout=1, retry=RetryPolicy(attempts=1)) as http:
            await http.request("POST", f"{running.base_url}/kuaidi100/poll/query.do")

    started = time.monotonic()
    try:
        with pytest.raises(TransientError, match="within 1s"):
            asyncio.run(ask())
    finally:
        world.clear_faults(running)
    assert time.monotonic() - started < 2.5


@pytest.mark.timeout(60)
def test_run_deadline_bounds_the_lock(home: Path, running: RunningSandbox) -> None:
    """A provider slower than the whole run may take: ``sync.deadline`` (3 s here) ends it
    with one line; the rest is saved and the lock is free at once."""
    world.config_for(home).set("http.timeout", 60)
    world.config_for(home).set("sync.deadline", 3)
    world.fault(running, "kuaidi100", "slow", seconds=30)
    summary, _, elapsed = sync_json(home)
    assert_only_failed(home, summary, "kuaidi100", "deadline", "sync.deadline")
    assert elapsed < 12
    from parcelctl.lock import SyncLock

    lock = SyncLock(home / "sync.lock", wait=False)
    assert lock.acquire()
    lock.release()


@pytest.mark.timeout(30)
def test_webhook_drip_is_a_failed_delivery(running: RunningSandbox) -> None:
    """Before: the webhook read its answer byte by byte within the per-read timeout and
    counted it as delivered (two drips: 48 s). Now ``notify.webhook.timeout`` is the
    delivery's deadline."""
    from parcelctl.notify_channels import ChannelError, Message, WebhookChannel

    world.clear_faults(running)
    world.fault(running, "kuaidi100", "drip", seconds=0.3)
    channel = WebhookChannel(f"{running.base_url}/kuaidi100/poll/query.do", timeout=1)
    started = time.monotonic()
    try:
        with pytest.raises(ChannelError, match="within 1s"):
            channel.send(Message("t", "b", {"type": "status"}))
    finally:
        world.clear_faults(running)
    assert time.monotonic() - started < 3


# -- §5: a clock step -------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_future_rate_limit_memory_never_stalls(home: Path) -> None:
    """``ratelimits.json`` says the next request may go in 11 days (edited by hand, or the
    clock stepped back since it was written). Before: sync slept that long. Now no wait
    is longer than the provider's own interval."""
    future = time.time() + 1e6
    (home / "ratelimits.json").write_text(json.dumps(
        {"17track": future, "cainiao": future, "kuaidi100": future, "kuaishou": future}))
    summary, _, elapsed = sync_json(home, timeout=40)
    assert summary["exit_code"] == 0, summary
    assert elapsed < 20


# -- §6: events per parcel ------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_event_flood_is_capped(home: Path, running: RunningSandbox) -> None:
    """An answer with thousands of events keeps the newest ``MAX_EVENTS`` per parcel."""
    world.fault(running, "kuaidi100", "event_flood", size=3 * MAX_EVENTS)
    summary, _, _ = sync_json(home)
    assert summary["exit_code"] == 0, [u["error"] for u in summary["providers"]]
    with closing(world.connect(home)) as db:
        counts = [row[0] for row in db.execute(
            "SELECT count(*) FROM events e JOIN parcels p ON p.id = e.parcel_id"
            " WHERE p.tracking_provider = 'kuaidi100' GROUP BY e.parcel_id")]
    assert counts and max(counts) == MAX_EVENTS


# -- §7: server text in every sink ------------------------------------------------------------

def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | dict):
        for item in value.values() if isinstance(value, dict) else value:
            yield from strings(item)


def assert_clean(text: str, where: str) -> None:
    for char in RAW:
        assert char not in text, (where, repr(char))


@pytest.mark.timeout(60)
def test_server_text_is_neutralised_in_every_sink(home: Path, running: RunningSandbox,
                                                  tmp_path: Path) -> None:
    """Event texts and an error message carrying ESC, OSC 8, BEL, bidi overrides,
    zero-width and C1 characters: the views, ``--json``, the log file and ``--debug``
    show none of them raw; ``--json`` still carries the exact text (as escapes)."""
    world.fault(running, "kuaidi100", "control_text")
    summary, stderr, _ = sync_json(home, "--debug")
    assert summary["exit_code"] == 0
    assert_clean(stderr, "--debug")
    number = "YT6247854916511"
    for args in (("show", number), ("list",), ("list", "--all")):
        shown = world.cli(home, *args)
        assert shown.returncode == 0, shown.stderr
        assert_clean(shown.stdout, " ".join(args))
    for args in (("show", number, "--json"), ("list", "--all", "--json")):
        raw = world.cli(home, *args).stdout
        assert_clean(raw, " ".join(args))
        assert any(HOSTILE_TEXT in text for text in strings(json.loads(raw)))  # data kept
    # An error message from the server: into the unit's line, the log file and --debug.
    other = world.build_home(tmp_path / "other", running, link=False, timeout=1.0)
    world.control(running, "service/kuaidi100", {"force_return_code": "601"})
    result = world.cli(other, "--debug", "sync", "--json")
    assert result.returncode == 3, result.stderr
    assert "601" in result.stderr
    assert_clean(result.stdout, "sync --json")
    assert_clean(result.stderr, "--debug")
    log = (other / "parcelctl.log").read_text(encoding="utf-8")
    assert "\ufffd]8;;https://evil.example" in log and "\ufffd]8;;https://evil.example" in \
        result.stderr  # the message got there, neutralised
    assert_clean(log, "parcelctl.log")
