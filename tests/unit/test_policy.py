"""The polling policy, driven by a fake clock (no sleeping, no network)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parcelctl.models import Status
from parcelctl.policy import DEFAULT_MINUTES, Policy
from parcelctl.store import Store, iso

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def exact(**overrides: object) -> Policy:
    policy = Policy(jitter=0.0)
    for key, value in overrides.items():
        setattr(policy, key, value)
    return policy


@pytest.mark.parametrize(("status", "minutes"), [
    ("out_for_delivery", 60), ("in_transit", 240), ("info_received", 360),
    ("ready_for_pickup", 1440), ("exception", 720), ("unknown", 360),
    ("awaiting_shipment", 360),
])
def test_interval_follows_the_status(status: str, minutes: int) -> None:
    assert DEFAULT_MINUTES[status] == minutes
    assert exact().next_check(status, T0, provider_min_minutes=30) == T0 + timedelta(
        minutes=minutes)


@pytest.mark.parametrize("status", ["delivered", "returned", "cancelled"])
def test_final_statuses_are_never_polled_again(status: str) -> None:
    assert Policy().next_check(status, T0, provider_min_minutes=30) is None


def test_an_unmapped_status_is_polled_like_unknown() -> None:
    assert exact().next_check("something_new", T0, provider_min_minutes=30) == T0 + timedelta(
        minutes=360)


def test_provider_minimum_is_a_floor() -> None:
    policy = exact()
    assert policy.next_check("out_for_delivery", T0, provider_min_minutes=120) == T0 + timedelta(
        minutes=120)
    # The global floor holds even when a provider claims it allows anything.
    policy.minutes["out_for_delivery"] = 5
    assert policy.next_check("out_for_delivery", T0, provider_min_minutes=0) == T0 + timedelta(
        minutes=30)


def test_jitter_only_ever_delays() -> None:
    policy = Policy(jitter=0.1, rng=random.Random(42))
    base = timedelta(minutes=240)
    delays = [policy.next_check("in_transit", T0, provider_min_minutes=30) - T0  # type: ignore[operator]
              for _ in range(500)]
    assert all(base <= d <= base * 1.1 for d in delays)
    assert len(set(delays)) > 400  # it actually spreads the load
    assert max(delays) - min(delays) > timedelta(minutes=20)


def test_stale_parcels_are_polled_rarely() -> None:
    policy = exact(stale_days=7.0, stale_minutes=1440)
    old = T0 - timedelta(days=8)
    recent = T0 - timedelta(days=6)
    assert policy.is_stale(old, T0)
    assert not policy.is_stale(recent, T0)
    assert not policy.is_stale(None, T0)
    assert not policy.is_stale(T0 - timedelta(days=7), T0)  # strictly more than stale_days
    assert policy.next_check("in_transit", T0, provider_min_minutes=30,
                             last_event=old) == T0 + timedelta(minutes=1440)
    assert policy.next_check("in_transit", T0, provider_min_minutes=30,
                             last_event=recent) == T0 + timedelta(minutes=240)
    # A status already polled more rarely than stale_minutes keeps its own interval.
    policy.minutes["exception"] = 2880
    assert policy.next_check("exception", T0, provider_min_minutes=30,
                             last_event=old) == T0 + timedelta(minutes=2880)


def test_from_config() -> None:
    policy = Policy.from_config({"in_transit": 180, "stale_days": 3, "jitter": 0,
                                 "min_minutes": 45, "delivered": 10, "exception": -5,
                                 "out_for_delivery": "often", "bogus": 1})
    assert policy.minutes["in_transit"] == 180
    assert policy.minutes["exception"] == 720  # negative ignored
    assert policy.minutes["out_for_delivery"] == 60  # not a number: ignored
    assert (policy.stale_days, policy.jitter, policy.min_minutes) == (3.0, 0.0, 45)
    assert policy.next_check("delivered", T0, provider_min_minutes=0) is None  # still final
    assert policy.next_check("out_for_delivery", T0, provider_min_minutes=0) == T0 + timedelta(
        minutes=60)
    assert Policy.from_config(None).minutes == DEFAULT_MINUTES
    assert Policy.from_config("garbage").minutes == DEFAULT_MINUTES  # type: ignore[arg-type]


# -- policy + store over two simulated days ----------------------------------------------------

@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "parcels.db") as opened:
        yield opened


def test_two_simulated_days_of_polling(store: Store) -> None:
    clock = FakeClock()
    policy = Policy(rng=random.Random(7))
    statuses = {"OFD1": "out_for_delivery", "TRN1": "in_transit", "PICK1": "ready_for_pickup",
                "DONE1": "delivered", "STALE1": "in_transit"}
    with store.transaction():
        for number, status in statuses.items():
            pid, _ = store.add_parcel(number, "shunfeng", tracking_provider="kuaidi100")
            last = T0 - timedelta(days=10 if number == "STALE1" else 0)
            store.db.execute("UPDATE parcels SET status=?, next_check_at=?, last_event_utc=?"
                             " WHERE id=?", (status, iso(T0), iso(last), pid))
    polls: Counter[str] = Counter()
    last_poll: dict[str, datetime] = {}
    provider_min = 30
    while clock() < T0 + timedelta(days=2):
        for row in store.due(clock()):
            number = str(row["number"])
            if number in last_poll:  # never sooner than the status interval or the provider
                gap = clock() - last_poll[number]
                assert gap >= timedelta(minutes=max(provider_min,
                                                    DEFAULT_MINUTES[str(row["status"])]))
            polls[number] += 1
            last_poll[number] = clock()
            last = datetime.fromisoformat(row["last_event_utc"])
            nxt = policy.next_check(str(row["status"]), clock(),
                                    provider_min_minutes=provider_min, last_event=last)
            store.db.execute("UPDATE parcels SET next_check_at=? WHERE id=?",
                             (iso(nxt) if nxt else None, row["id"]))
        clock.advance(minutes=5)
    assert polls["DONE1"] == 0  # delivered: not active, never due
    assert 41 <= polls["OFD1"] <= 48  # hourly, plus up to 10 % jitter and 5-minute ticks
    assert 11 <= polls["TRN1"] <= 12
    assert polls["PICK1"] == 2
    assert polls["STALE1"] == 2  # no scan for 10 days: daily, not every 4 hours
    assert store.next_due() is not None


def test_force_refreshes_every_active_parcel_but_never_final_ones(store: Store) -> None:
    with store.transaction():
        for number, status in (("A1", "in_transit"), ("B1", "delivered"), ("C1", "returned")):
            pid, _ = store.add_parcel(number, "shunfeng", tracking_provider="kuaidi100")
            store.db.execute("UPDATE parcels SET status=?, next_check_at=? WHERE id=?",
                             (status, iso(T0 + timedelta(hours=3)), pid))
        # A return that ended has no next check (C1 above is still on its way back).
        pid, _ = store.add_parcel("D1", "shunfeng", tracking_provider="kuaidi100")
        store.db.execute("UPDATE parcels SET status='returned', next_check_at=NULL"
                         " WHERE id=?", (pid,))
    assert store.due(T0) == []
    assert sorted(r["number"] for r in store.due(T0, force=True)) == ["A1", "C1"]
    assert sorted(r["number"] for r in store.due(T0 + timedelta(hours=3))) == ["A1", "C1"]
    assert Status("in_transit").is_final is False


def test_a_returning_parcel_is_polled_slowly_until_it_goes_quiet() -> None:
    """Errata Q2 / DESIGN: `returned` on its way back is tracked every polling.returned
    minutes until the return ends, or until no scan for polling.stale_days."""
    policy = Policy.from_config({"returned": 600, "stale_days": 3, "jitter": 0})
    recent = T0 - timedelta(days=1)
    assert policy.next_check("returned", T0, provider_min_minutes=30,
                             last_event=recent) is None  # the return ended
    assert policy.next_check("returned", T0, provider_min_minutes=30, last_event=recent,
                             returning=True) == T0 + timedelta(minutes=600)
    assert policy.next_check("returned", T0, provider_min_minutes=30, returning=True,
                             last_event=T0 - timedelta(days=4)) is None  # quiet
