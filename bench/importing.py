"""Section 5: ``parcelctl import`` of many JSON-line messages against a big store.

    python bench/importing.py --parcels 100000 --messages 10000

The store is the seeded one of ``seed.py`` (copied, so each run starts from the same file).
The messages are real text shapes (pickup-texts.md) with generated numbers, in a fixed mix:
pickup notices naming the tail of an active parcel (attached), notices whose tail matches no
active parcel (pickup items), shops' shipping texts with a new waybill number (added),
repeats of earlier messages (duplicates) and texts with nothing to take (unrecognised).
Tails are matched through the ``parcels_tail4`` index; the section checks the plan too.
(A notice planned as unmatched may match a waybill that an earlier message of the same run
added: the counts can differ from the plan by that.)
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import parcelctl, run_child
from seed import Spec, cached_home

#: Shapes of real texts (pickup-texts.md rows 2, 17, 1, 11; a shop's shipping text).
ATTACH = "【圆通快递】请凭{code}到尚璟瑞府妈妈驿站领取运单尾号{tail}包裹，详询137****0547。"
LOCKER = ("【南京百米需】您的包裹已到青禾村24排菜鸟驿站7号柜18-15号格口，取件码{code}，"
          "运单尾号{tail}。")
STATION = ("【菜鸟驿站】您的中通快递包裹已到武汉市尚璟瑞府{n}号门店，请20:30前凭{code}取件，"
           "详询176****1639")
SHIPPED = "【圆通速递】您的订单已发货，运单号：{number}，复制单号到圆通APP查询物流。"
JUNK = ["【蜂鸟配送】您的订单已经送达，宿舍楼下外卖架位置，淘宝闪购搜索{n}，如有问题请联系骑手",
        "【某银行】您的验证码 {n}，请勿泄露",
        "【拼多多】您的商品在代收点已超6小时未取，请尽快取件。"]
MIX = {"attach": 0.4, "pickup": 0.2, "added": 0.2, "duplicate": 0.1, "junk": 0.1}


def messages(db: Path, count: int, seed: int = 7) -> tuple[list[str], dict[str, int]]:
    """JSON lines and how many of each kind they hold."""
    rng = random.Random(seed)
    with sqlite3.connect(db) as conn:
        active = [str(r[0]) for r in conn.execute(
            "SELECT number FROM parcels WHERE active = 1 AND kind = 'waybill'"
            " AND carrier IN ('yuantong', '')")]
        # Unmatched notices name 6-digit tails no parcel has (a big store has every 5-digit one).
        tails = {str(r[0])[-6:] for r in conn.execute("SELECT number FROM parcels")}
    plan = {kind: int(count * share) for kind, share in MIX.items()}
    plan["attach"] += count - sum(plan.values())
    lines: list[str] = []
    stamp = 1_796_606_100_000  # 2026-12-07 09:15 China time, in ms (SmsForwarder)
    kinds = [k for k, n in plan.items() for _ in range(n) if k != "duplicate"]
    rng.shuffle(kinds)
    for i, kind in enumerate(kinds):
        code = f"{rng.randrange(1, 40)}-{rng.randrange(1, 9)}-{i:05d}"  # unique
        if kind == "attach" and active:
            text = ATTACH.format(code=code, tail=rng.choice(active)[-5:])
        elif kind in ("attach", "pickup"):
            tail = f"{rng.randrange(100_000, 999_999)}"
            while tail in tails:
                tail = f"{rng.randrange(100_000, 999_999)}"
            if i % 3 == 0:
                text = STATION.format(n=i, code=code)  # no tail at all
            else:
                text = (LOCKER if i % 3 == 1 else ATTACH).format(code=code, tail=tail)
        elif kind == "added":
            text = SHIPPED.format(number=f"YT{8_000_000_000_000 + i * 13:013d}")
        else:
            text = rng.choice(JUNK).format(n=100_000 + i)
        lines.append(json.dumps({"from": "1069", "content": text, "timestamp": stamp + i * 1000},
                                ensure_ascii=False))
    # Repeats of earlier messages (never of junk, which is not remembered), each of a
    # different one, later in the stream.
    useful = [n for n, kind in enumerate(kinds[:len(kinds) // 2]) if kind != "junk"]
    for original in rng.sample(useful, plan["duplicate"]):
        lines.insert(rng.randrange(len(kinds) // 2 + 1, len(lines) + 1), lines[original])
    return lines, plan


def import_at_scale(parcels: int, count: int, active: int) -> dict[str, Any]:
    home = cached_home(Spec(parcels, parcels, active))
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp) / "home"
        shutil.copytree(home, work)
        env = {"PARCELCTL_HOME": str(work), "PARCELCTL_SECRETS": "file", "NO_COLOR": "1"}
        # Migrations (a store seeded by an older schema) are applied by this first run,
        # not by the timed one.
        warm = run_child(parcelctl("list", "--limit", "1"), env=env)
        if warm.returncode:
            raise RuntimeError(warm.stderr.decode()[-500:])
        lines, plan = messages(work / "parcels.db", count)
        source = Path(tmp) / "sms.jsonl"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        run = run_child(parcelctl("import", str(source), "--json"), env=env)
        if run.returncode:
            raise RuntimeError(run.stderr.decode()[-500:])
        report = json.loads(run.stdout)
        with sqlite3.connect(work / "parcels.db") as conn:
            plan_rows = conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM parcels WHERE substr(number, -4) = ?"
                " AND substr(number, ?) = ? AND kind = 'waybill' AND active = 1",
                ("1234", -5, "01234")).fetchall()
            stored = conn.execute("SELECT count(*) FROM parcels").fetchone()[0]
    uses_index = any("parcels_tail4" in str(row[3]) for row in plan_rows)
    counts = report["counts"]
    return {"parcels": parcels, "active": active, "messages": len(lines),
            "import_s": round(run.seconds, 3), "cpu_s": round(run.cpu_s, 3),
            "peak_rss_mb": round(run.peak_rss_mb, 1),
            "per_message_ms": round(run.seconds * 1000 / len(lines), 3),
            "counts": counts, "planned": plan, "parcels_after": stored,
            "tail_index_used": uses_index,
            "checks": {"tail index used": uses_index,
                       "duplicates found": counts.get("duplicate", 0) == plan["duplicate"],
                       "attached": counts.get("attached", 0) > 0,
                       "pickup items": counts.get("pickup", 0) > 0,
                       "added": counts.get("added", 0) == plan["added"]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--active", type=int, default=2_000)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args(argv)
    print(json.dumps(import_at_scale(args.parcels, args.messages, args.active), indent=2,
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
