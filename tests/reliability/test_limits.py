"""Issue 5 §6: limits honoured under stress, measured by the sandbox (arrival times of every
request, per service and per number), with the product's default politeness settings.

* no service ever gets more requests in any one-second window than its documented rate
  (17TRACK 3/s, Kuaishou 300/s and parcelctl's own lower cap, Cainiao the configured rate),
  not even when ``add`` runs while a ``sync`` is busy with the same provider;
* no number is queried again before its minimum interval, however often ``sync`` runs;
* a persistent outage costs a bounded number of requests per run, spaced by growing gaps.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from parcelctl.providers.kuaishou import KuaishouProvider
from parcelctl.sandbox.server import RunningSandbox

from . import world
from .forkcli import ForkCli

CAINIAO_RATE = 2.0  # configured (default 0.5/s would make this test slow, not different)


@pytest.fixture
def running() -> Iterator[RunningSandbox]:
    sandbox = world.new_sandbox()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Most arrivals inside any ``window`` seconds (the services' own way of counting)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def gaps(times: list[float]) -> list[float]:
    times = sorted(times)
    return [b - a for a, b in itertools.pairwise(times)]


def busy_home(home: Path, running: RunningSandbox) -> None:
    world.configure(home, running, timeout=10.0,
                    extra={"providers.cainiao.rate_per_second": CAINIAO_RATE})
    world.control(running, "service/cainiao", {"rate_limit": CAINIAO_RATE})
    world.add_parcels(home, {
        "17track": [(f"RS{i:09d}NL", "") for i in range(130)],       # 4 batches of ≤40
        "cainiao": [(f"LP{i:014d}", "") for i in range(1, 32)],      # 4 batches of ≤10
        "kuaidi100": [(f"YT9{i:012d}", "yuantong") for i in range(40)],
    })
    world.link_kuaishou(home)


@pytest.mark.timeout(90)
def test_documented_rates_under_stress(running: RunningSandbox, forks: list[ForkCli],
                                       tmp_path: Path) -> None:
    home = tmp_path / "home"
    busy_home(home, running)
    # A sync busy with every provider, and `add` tracking more 17TRACK and Cainiao numbers
    # at the same moment from other processes.
    sync = forks[0].start(home, "sync")
    adds = [forks[1].start(home, "add", "RS999000001NL", "RS999000002NL", "--provider",
                           "17track"),
            forks[2].start(home, "add", "LP99999999999901", "--provider", "cainiao")]
    results = [handle.wait(90) for handle in (sync, *adds)]
    for result in results:
        assert result.returncode == 0, result.stderr
    times = running.sandbox.stats.times
    assert len(times["17track"]) >= 8
    assert max_in_window(times["17track"]) <= 3, gaps(times["17track"])
    assert len(times["cainiao"]) >= 4
    assert max_in_window(times["cainiao"]) <= CAINIAO_RATE, gaps(times["cainiao"])
    assert len(times["kuaishou"]) >= 13
    own_rate = KuaishouProvider.rate_per_second or 300.0
    assert max_in_window(times["kuaishou"]) <= min(300.0, own_rate)
    # One process after the other (each `add` sends register + gettrackinfo at once): the
    # spacing carries over from process to process.
    start = len(times["17track"])
    for n in range(3):
        added = forks[0].run(home, "add", f"RS99900010{n}NL", "--provider", "17track")
        assert added.returncode == 0, added.stderr
    assert len(times["17track"]) - start == 6
    assert max_in_window(times["17track"][start:]) <= 3, gaps(times["17track"][start:])
    # The sandbox enforces the documented rates: nobody was ever throttled.
    requests = world.stats(running)["requests"]
    assert sum(requests.values()) == sum(len(t) for t in times.values())
    with closing(world.connect(home)) as db:
        errors = db.execute("SELECT count(*) FROM parcels WHERE last_error IS NOT NULL"
                            " AND last_error LIKE '%429%'").fetchone()[0]
    assert errors == 0


FIRST_SLOT_PROBE = textwrap.dedent("""
    import asyncio, sys
    from parcelctl.http import HttpClient

    async def main(url):
        client = HttpClient("probe", rate=3.0, tls=False)
        seen = []
        take = client.limiter.acquire

        async def acquire():
            seen.append("anyio._backends._asyncio" in sys.modules)
            await take()

        client.limiter.acquire = acquire
        try:
            await client.request("GET", url)
        except Exception:
            pass  # the answer does not matter, only what was loaded at the slot
        await client.aclose()
        print("LOADED-AT-SLOT", seen[0])

    asyncio.run(main(sys.argv[1]))
""")


def test_first_request_does_not_load_the_network_backend_inside_its_rate_slot(
        running: RunningSandbox) -> None:
    """The stress test above once caught four 17TRACK requests in one second: the first
    request of each `add` loaded anyio's backend (30-50 ms) between its slot and its send,
    so it arrived late, close to the next one. Timing that is flaky; what is loaded when
    the slot is taken is not (a fresh interpreter: this one has the backend already)."""
    result = subprocess.run([sys.executable, "-c", FIRST_SLOT_PROBE,
                             running.base_url + "/17track/"],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "LOADED-AT-SLOT True", result.stderr


@pytest.mark.timeout(60)
def test_minimum_interval_per_number(running: RunningSandbox, forks: list[ForkCli],
                                     tmp_path: Path) -> None:
    home = tmp_path / "home"
    world.build_home(home, running, timeout=10.0)
    for _ in range(4):
        result = forks[0].run(home, "sync")
        assert result.returncode == 0, result.stderr
    numbers = running.sandbox.stats.number_times
    assert numbers
    for key, stamps in numbers.items():
        assert len(stamps) == 1, (key, stamps)  # asked once, whatever the number of syncs
    minimum = {"kuaidi100": 30, "17track": 30, "cainiao": 120}
    with closing(world.connect(home)) as db:
        rows = db.execute("SELECT number, tracking_provider, checked_at, next_check_at, status"
                          " FROM parcels WHERE checked_at IS NOT NULL").fetchall()
    assert len(rows) >= 10
    for row in rows:
        if row["next_check_at"] is None:
            assert row["status"] in ("delivered", "returned", "cancelled"), dict(row)
            continue
        checked = datetime.fromisoformat(row["checked_at"])
        due = datetime.fromisoformat(row["next_check_at"])
        assert due - checked >= timedelta(minutes=minimum[row["tracking_provider"]]), dict(row)


def _outage_requests(running: RunningSandbox, service: str) -> list[float]:
    return list(running.sandbox.stats.times[service])


@pytest.mark.timeout(60)
def test_persistent_outage_backs_off(running: RunningSandbox, forks: list[ForkCli],
                                     tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy_home(busy, running)
    single = tmp_path / "single"  # one parcel: one stream of attempts, nothing else
    world.configure(single, running, names=("kuaidi100",), timeout=10.0)
    world.add_parcels(single, {"kuaidi100": [("YT9100000000017", "yuantong")]})
    for service in ("kuaidi100", "17track", "cainiao", "kuaishou"):
        world.fault(running, service, "http503")
    times = running.sandbox.stats.times

    def sync(home: Path, code: int, lines: int) -> dict[str, list[float]]:
        before = {s: len(times[s]) for s in ("kuaidi100", "17track", "cainiao")}
        result = forks[0].run(home, "sync", timeout=60)
        assert result.returncode == code, result.stderr
        assert len(result.stderr.strip().splitlines()) == lines, result.stderr
        return {s: sorted(times[s][n:]) for s, n in before.items()}

    for _ in range(2):  # the same bounded cost on every run: no escalation, no tight loop
        run = sync(busy, 1, 4)  # every provider failed: an error, one line each
        # Many parcels, several requests in flight: a handful of attempts, not 3 per parcel.
        assert 3 <= len(run["kuaidi100"]) <= 3 * 4, len(run["kuaidi100"])
        # Batches share the rate limiter even while failing.
        for name, spacing in (("17track", 1 / 3), ("cainiao", 1 / CAINIAO_RATE)):
            assert 3 <= len(run[name]) <= 3 * 4, (name, run[name])
            assert min(gaps(run[name])) >= spacing * 0.95, (name, gaps(run[name]))
        lone = sync(single, 1, 1)["kuaidi100"]
        assert len(lone) == 3, lone  # three attempts, then give up until the next run
        first, second = gaps(lone)
        # Backoff 0.25–0.5 s, then 0.5–1 s (plus whatever a busy machine adds).
        assert 0.2 <= first <= 1.5 and 0.45 <= second <= 3.0 and second >= first * 0.9, (
            first, second)
