"""Build benchmark stores through the store API, cached under ``bench/.cache``.

A store is made the way parcelctl itself makes one: ``Store.add_parcel`` (with a manual or a
platform-order source), ``Store.apply_result`` with a tracking answer carrying the events, and
``Store.archive``. Writes are batched in transactions of a few thousand parcels, so 100,000
parcels with 1,000,000 events take a minute or two instead of hours; the finished file is
cached by size, seed and schema version, so later runs reuse it.

    python bench/seed.py --parcels 100000 --events 1000000 --active 1000
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from parcelctl.migrations import MIGRATIONS
from parcelctl.models import Status, TrackingEvent, TrackResult
from parcelctl.store import Store

CACHE = Path(__file__).resolve().parent / ".cache"
#: Bump when the seeding recipe changes, so stale caches are not reused.
RECIPE = 2
BATCH = 2000

_ACTIVE = [Status.IN_TRANSIT, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY,
           Status.READY_FOR_PICKUP, Status.INFO_RECEIVED, Status.EXCEPTION, Status.UNKNOWN]
_CARRIERS = ["yuantong", "zhongtong", "shentong", "yunda", "jtexpress", "shunfeng", "jd", "ems"]
_CITIES = ["杭州市", "上海市", "广州市", "成都市", "北京市", "武汉市", "西安市", "南京市"]
_TRANSIT = ["快件已揽收", "快件已发往转运中心", "快件已到达转运中心",
            "快件离开分拨中心，发往下一站", "快件已到达派送网点"]
_LAST = {Status.IN_TRANSIT: "快件已到达转运中心",
         Status.OUT_FOR_DELIVERY: "派件中，快递员电话 138****0000",
         Status.READY_FOR_PICKUP: "快件已存放至驿站，凭取件码 8-2-4410 取件",
         Status.INFO_RECEIVED: "商家已发货，等待揽收", Status.EXCEPTION: "快件滞留：收件地址不详",
         Status.UNKNOWN: "快件信息更新", Status.DELIVERED: "已签收，签收人：本人",
         Status.CANCELLED: "寄件人已取消寄件"}
_TITLES = ["加厚保温杯 500ml", "纯棉短袖T恤 白色 L", "蓝牙耳机 降噪版", "手机壳 iPhone 15",
           "儿童绘本 10册", "不锈钢炒锅 32cm", "跑步鞋 42码", "数据线 1m 三条装"]


@dataclass(frozen=True, slots=True)
class Spec:
    parcels: int
    events: int
    active: int  # parcels that stay active; the rest are delivered, cancelled or archived
    seed: int = 11

    @property
    def key(self) -> str:
        return (f"store-p{self.parcels}-e{self.events}-a{self.active}-s{self.seed}"
                f"-r{RECIPE}-m{len(MIGRATIONS)}")


def number_for(i: int) -> str:
    """Deterministic, unique, valid-looking numbers (also what ``show`` is asked for)."""
    return f"YT{9_100_000_000_000 + i * 7:013d}"


def cached_home(spec: Spec, *, log: bool = True) -> Path:
    """A PARCELCTL_HOME directory holding ``parcels.db`` for ``spec`` (built if missing)."""
    home = CACHE / spec.key
    if (home / "parcels.db").exists() and (home / "done").exists():
        return home
    if home.exists():
        shutil.rmtree(home)
    tmp = CACHE / (spec.key + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    started = time.perf_counter()
    build(tmp / "parcels.db", spec)
    (tmp / "done").write_text(f"{time.perf_counter() - started:.1f}\n")
    tmp.rename(home)
    if log:
        print(f"seeded {spec.key} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return home


def build(path: Path, spec: Spec) -> None:
    rng = random.Random(spec.seed)
    now = datetime.now(UTC).replace(microsecond=0)
    per_parcel, extra = divmod(spec.events, max(1, spec.parcels))
    active_every = spec.parcels / spec.active if spec.active else 0.0
    next_active = 0.0
    with Store(path) as store:
        for start in range(0, spec.parcels, BATCH):
            with store.transaction():
                for i in range(start, min(spec.parcels, start + BATCH)):
                    is_active = bool(spec.active) and i >= next_active
                    if is_active:
                        next_active += active_every
                    count = per_parcel + (1 if i < extra else 0)
                    _one(store, rng, i, count, is_active, now)


def _one(store: Store, rng: random.Random, i: int, events: int, active: bool,
         now: datetime) -> None:
    number = number_for(i)
    carrier = _CARRIERS[i % len(_CARRIERS)]
    if i % 3 == 0:  # a third come from a linked shop, the rest were added by number
        source = ("kuaishou", "bench-shop", str(2_415_000_000_000_000 + i))
        title = _TITLES[i % len(_TITLES)]
        label = ""
    else:
        source, title, label = ("manual", "", ""), "", f"bench {i % 97}"
    pid, _ = store.add_parcel(number, carrier, tracking_provider="kuaidi100", label=label,
                              title=title, source=source)
    if active:
        status = _ACTIVE[i % len(_ACTIVE)]
        end = now - timedelta(minutes=rng.randrange(60, 96 * 60))
    else:
        status = Status.CANCELLED if i % 50 == 0 else Status.DELIVERED
        end = now - timedelta(minutes=rng.randrange(4 * 1440, 720 * 1440))
    city = _CITIES[i % len(_CITIES)]
    timeline = [
        TrackingEvent(end - timedelta(hours=6 * (events - 1 - k)),
                      f"【{city}】{_LAST[status] if k == events - 1 else _TRANSIT[k % 5]}", city,
                      status if k == events - 1 else Status.IN_TRANSIT)
        for k in range(events)
    ]
    result = TrackResult(number, carrier, status, events=timeline)
    next_check = None if status in (Status.DELIVERED, Status.CANCELLED) else (
        now + timedelta(minutes=rng.uniform(30, 600)))
    store.apply_result(pid, result, next_check_at=next_check, checked_at=now)
    if not active and status is Status.DELIVERED and i % 7 == 0:
        store.archive(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--active", type=int, default=1_000)
    args = parser.parse_args(argv)
    home = cached_home(Spec(args.parcels, args.events, args.active))
    print(os.fspath(home / "parcels.db"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
