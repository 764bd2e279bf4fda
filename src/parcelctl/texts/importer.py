"""What texts say, matched against the store and saved (``parcelctl import``).

* A waybill number the text gives is added (source ``text``) or found.
* A pickup notice attaches to the parcel it names: by number, else by the waybill tail
  (``尾号6017``), among active waybills whose carrier agrees (or is unknown); several
  candidates: the newest one, said in the outcome's note. The parcel becomes
  ``ready_for_pickup`` with the code, station and deadline, through an event whose code is
  ``text`` (not a tracking provider's scan).
* A notice with a code or a tail that matches nothing is a *pickup item*: a parcel row of
  kind ``pickup`` (number ``PU-<code>``), listed until it is collected (``parcelctl
  collected``), a parcel with its tail is delivered, or it expires: :data:`DAYS_PAST_DEADLINE`
  days after its deadline, :data:`DAYS_WITHOUT_DEADLINE` days after the message without one.
* Every message is imported once: a fingerprint (hash of the normalised text) is stored.
  A code already known is no news; each new code is notified once.

Everything of one import runs in one transaction; ``dry_run`` rolls it back.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ExitCode, UsageError
from ..models import TrackingEvent
from ..status import FINAL_STATUSES, Status, normalize_number, utcnow
from ..store import Store, _last_event_columns, iso, now_iso
from .inbox import Message
from .parse import Finding, normalize, parse

if TYPE_CHECKING:
    from ..notify import Notifier

__all__ = ["DAYS_PAST_DEADLINE", "DAYS_WITHOUT_DEADLINE", "Importer", "Outcome", "Report",
           "collect", "fingerprint", "tail_candidates"]

SOURCE = ("text", "", "")
EVENT_CODE = "text"
DAYS_PAST_DEADLINE = 3
DAYS_WITHOUT_DEADLINE = 7
PREVIEW = 40
_READY = Status.READY_FOR_PICKUP.value


@dataclass(slots=True)
class Outcome:
    """What one message did. ``outcome``: added, attached, pickup, updated, known,
    duplicate, unrecognised or refused."""

    index: int
    outcome: str
    preview: str
    reference: str | None = None  # the parcel's number, or the pickup item's PU-…
    carrier: str | None = None
    codes: list[str] = field(default_factory=list)
    station: str | None = None
    deadline: str | None = None
    tail: str | None = None
    added: list[str] = field(default_factory=list)
    candidates: int = 0
    notified: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "outcome": self.outcome, "preview": self.preview,
                "reference": self.reference, "carrier": self.carrier, "codes": self.codes,
                "station": self.station, "deadline": self.deadline, "tail": self.tail,
                "added": self.added, "candidates": self.candidates, "notified": self.notified,
                "note": self.note or None}


@dataclass(slots=True)
class Report:
    dry_run: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    swept: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.outcome for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        refused = self.counts["refused"]
        if not refused:
            return int(ExitCode.OK)
        return int(ExitCode.PARTIAL if refused < len(self.outcomes) else ExitCode.ERROR)

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "messages": len(self.outcomes),
                "counts": dict(sorted(self.counts.items())),
                "notified": sum(o.notified for o in self.outcomes), "swept": self.swept,
                "results": [o.to_json() for o in self.outcomes]}


def fingerprint(text: str) -> str:
    """The same message, however it was spaced or widened, has one fingerprint."""
    canonical = " ".join(normalize(text).split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[:PREVIEW - 1] + "…"


def split_codes(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def tail_candidates(db: sqlite3.Connection, tail: str, carrier: str | None, *,
                    delivered: bool = False) -> list[sqlite3.Row]:
    """Waybills ending with ``tail`` (4+ digits), newest first, through the tail index.

    Active ones; with ``delivered`` the delivered ones instead. A parcel of unknown carrier
    agrees with any carrier the text names.
    """
    sql = ("SELECT id, number, carrier, status, created_at, updated_at,"
           " coalesce(last_event_utc, updated_at) AS changed_at FROM parcels"
           " WHERE substr(number, -4) = ? AND substr(number, ?) = ? AND kind = 'waybill'")
    sql += " AND status = 'delivered'" if delivered else " AND active = 1"
    args: list[Any] = [tail[-4:], -len(tail), tail]
    if carrier:
        sql += " AND carrier IN (?, '')"
        args.append(carrier)
    return db.execute(sql + " ORDER BY created_at DESC, id DESC", args).fetchall()


class Importer:
    def __init__(self, store: Store, *, tracking_provider: str,
                 clock: Callable[[], datetime] = utcnow,
                 notifier: Notifier | None = None) -> None:
        self.store = store
        self.db = store.db
        self.tracking_provider = tracking_provider
        self.clock = clock
        self.notifier = notifier
        self._seen: set[str] = set()

    def run(self, messages: Iterable[Message], *, dry_run: bool = False) -> Report:
        report = Report(dry_run=dry_run)
        self.store.begin()
        try:
            report.swept = sweep(self.store, self.clock())
            for message in messages:
                report.outcomes.append(self.one(message))
        except BaseException:
            self.store.rollback()
            raise
        if dry_run:
            self.store.rollback()
        else:
            self.store.commit()
        return report

    def one(self, message: Message) -> Outcome:
        shown = preview(message.text)
        if message.problem:
            return Outcome(message.index, "refused", shown, note=message.problem)
        key = fingerprint(message.text)
        if key in self._seen or self.db.execute(
                "SELECT 1 FROM text_messages WHERE fingerprint = ?", (key,)).fetchone():
            return Outcome(message.index, "duplicate", shown, note="imported before")
        received = message.received or self.clock()
        finding = parse(message.text, received)
        if not finding.recognised:
            return Outcome(message.index, "unrecognised", shown)
        out = Outcome(message.index, "known", shown, carrier=finding.carrier,
                      codes=list(finding.codes), station=finding.station,
                      deadline=finding.deadline.isoformat() if finding.deadline else None,
                      tail=finding.tail)
        pid = self._apply(finding, received, out)
        self._seen.add(key)
        self.db.execute("INSERT OR IGNORE INTO text_messages (fingerprint, imported_at,"
                        " parcel_id, outcome) VALUES (?,?,?,?)",
                        (key, iso(self.clock()), pid, out.outcome))
        return out

    # -- applying one finding ---------------------------------------------------------------
    def _apply(self, found: Finding, received: datetime, out: Outcome) -> int | None:
        target: int | None = None
        for number, carrier in found.numbers:
            pid, created = self.store.add_parcel(number, carrier, source=SOURCE,
                                                 tracking_provider=self.tracking_provider)
            if created:
                out.added.append(number)
            if target is None:
                target = pid
                out.reference, out.carrier = number, carrier or out.carrier
        if not found.pickup:
            out.outcome = "added" if out.added else "known"
            return target
        if target is None and found.tail:
            rows = tail_candidates(self.db, found.tail, found.carrier)
            out.candidates = len(rows)
            if rows:
                target = int(rows[0]["id"])
                if len(rows) > 1:
                    out.note = (f"{len(rows)} tracked parcels end with {found.tail}: attached "
                                f"to the newest, {rows[0]['number']}")
        if target is not None:
            self._attach(target, found, received, out)
            return target
        return self._pickup_item(found, received, out)

    def _event(self, found: Finding, received: datetime) -> TrackingEvent:
        text = " ".join(found.text.split())
        return TrackingEvent(received, text[:500], found.station or "",
                             Status.READY_FOR_PICKUP, EVENT_CODE)

    def _attach(self, pid: int, found: Finding, received: datetime, out: Outcome) -> None:
        row = self.store.get(pid)
        out.reference = str(row["number"])
        out.carrier = str(row["carrier"]) or out.carrier
        old_status = str(row["status"])
        when = iso(received)
        if Status(old_status) in FINAL_STATUSES and (row["last_event_utc"] or "") >= when:
            out.outcome = "known"
            out.note = f"{out.reference} was {old_status} after this message"
            return
        known = split_codes(row["pickup_code"])
        new_codes = [c for c in found.codes if c not in known]
        values: dict[str, Any] = {}
        if old_status != _READY:
            values.update(status=_READY, raw_status=EVENT_CODE)
            if row["kind"] == "waybill" and not row["next_check_at"]:
                values["next_check_at"] = now_iso()  # reopened: tracked again
        if new_codes:
            values["pickup_code"] = ", ".join(found.codes)
        if found.station and found.station != row["station"]:
            values["station"] = found.station
        deadline = found.deadline.isoformat() if found.deadline else None
        if deadline and deadline != row["pickup_deadline"]:
            values["pickup_deadline"] = deadline
        event = self._event(found, received)
        if self.store.add_events(pid, [event]) and when >= (row["last_event_utc"] or ""):
            values.update(_last_event_columns(event))
        if not values:
            return
        values["updated_at"] = now_iso()
        self.store.update(pid, values)
        out.outcome = "attached"
        if new_codes or old_status != _READY:
            out.notified = self._notify(pid, old_status, new_codes or [f"@{when}"])

    def _pickup_item(self, found: Finding, received: datetime, out: Outcome) -> int:
        existing = self._same_pickup(found)
        if existing is not None:
            self._attach(int(existing["id"]), found, received, out)
            if out.outcome == "attached":
                out.outcome = "updated"
            return int(existing["id"])
        base = "PU-" + (found.codes[0] if found.codes else found.tail or "")
        number, n = base, 2
        while self.db.execute("SELECT 1 FROM parcels WHERE number = ?", (number,)).fetchone():
            number, n = f"{base}-{n}", n + 1
        deadline = found.deadline
        expires = (deadline + timedelta(days=DAYS_PAST_DEADLINE) if deadline
                   else received + timedelta(days=DAYS_WITHOUT_DEADLINE))
        event = self._event(found, received)
        now = now_iso()
        cur = self.db.execute(
            "INSERT INTO parcels (carrier, number, kind, status, raw_status, title,"
            " tracking_provider, pickup_code, station, pickup_deadline, pickup_tail, expires_at,"
            " created_at, updated_at, next_check_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL)",
            (found.carrier or "", number, "pickup", _READY, EVENT_CODE, found.station or "", "",
             ", ".join(found.codes) or None, found.station,
             deadline.isoformat() if deadline else None, found.tail, iso(expires), now, now))
        pid = int(cur.lastrowid or 0)
        self.db.execute("INSERT OR IGNORE INTO sources (parcel_id, provider, account, order_id)"
                        " VALUES (?,?,?,?)", (pid, *SOURCE))
        self.store.add_events(pid, [event])
        self.store.update(pid, _last_event_columns(event))
        out.outcome, out.reference = "pickup", number
        if not out.note:
            out.note = ("no tracked parcel ends with " + found.tail if found.tail
                        else "the text names no waybill")
        out.notified = self._notify(pid, "", found.codes or [f"@{iso(received)}"])
        return pid

    def _same_pickup(self, found: Finding) -> sqlite3.Row | None:
        """The pickup item this notice repeats: same first code (at the same station when
        both name one), or without a code the same tail and carrier."""
        if found.codes:
            code = found.codes[0]
            for row in self.db.execute(
                    "SELECT * FROM parcels WHERE number >= ? AND number <= ?"
                    " AND +kind = 'pickup' AND +active = 1", (f"PU-{code}", f"PU-{code}-\uffff")):
                same_place = not found.station or not row["station"] or (
                    row["station"] == found.station)
                if code in split_codes(row["pickup_code"]) and same_place:
                    return row  # type: ignore[no-any-return]
        if found.tail:
            for row in self.db.execute(
                    "SELECT * FROM parcels WHERE pickup_tail = ? AND kind = 'pickup'"
                    " AND +active = 1 ORDER BY id DESC", (found.tail,)):
                if (not found.carrier or row["carrier"] in ("", found.carrier)) and not (
                        found.codes and row["pickup_code"]):
                    return row  # type: ignore[no-any-return]
        return None

    def _notify(self, pid: int, old_status: str, codes: list[str]) -> bool:
        if self.notifier is None:
            return False
        row = self.store.get(pid)
        return self.notifier.record_pickup(row, codes, old_status) is not None


# -- lifetime of pickup items ---------------------------------------------------------------

def sweep(store: Store, now: datetime) -> dict[str, int]:
    """Pickup items that are over: expired ones are archived; one whose tail a tracked
    parcel now has is moved onto that parcel (active) or marked collected (delivered after
    the item appeared). Call inside a transaction."""
    db = store.db
    stamp = iso(now)
    # Pickup items only, through their partial index (``+active``: not the index of every
    # active parcel, which a big store has 100,000 of).
    expired = db.execute("UPDATE parcels INDEXED BY parcels_pickup_tail SET archived = 1,"
                         " updated_at = ? WHERE kind = 'pickup' AND +active = 1"
                         " AND expires_at < ?", (stamp, stamp)).rowcount
    moved = collected = 0
    items = db.execute("SELECT * FROM parcels INDEXED BY parcels_pickup_tail"
                       " WHERE kind = 'pickup' AND +active = 1 AND pickup_tail IS NOT NULL"
                       ).fetchall()
    for item in items:
        tail, carrier = str(item["pickup_tail"]), str(item["carrier"]) or None
        # Delivered after the notice came: that was this parcel being collected.
        since = str(item["last_event_utc"] or item["created_at"])
        delivered = [r for r in tail_candidates(db, tail, carrier, delivered=True)
                     if str(r["changed_at"]) > since]
        if delivered:
            _mark_collected(store, int(item["id"]), "delivered: " + str(delivered[0]["number"]))
            collected += 1
            continue
        active = tail_candidates(db, tail, carrier)
        if active:
            _move(store, item, int(active[0]["id"]))
            moved += 1
    return {"expired": expired, "moved": moved, "collected": collected}


def _move(store: Store, item: sqlite3.Row, pid: int) -> None:
    """A pickup item's code, station and deadline onto the tracked parcel it was about."""
    row = store.get(pid)
    values: dict[str, Any] = {"status": _READY, "raw_status": EVENT_CODE,
                              "updated_at": now_iso()}
    for column in ("pickup_code", "station", "pickup_deadline"):
        if item[column]:
            values[column] = item[column]
    for event in store.events(int(item["id"])):
        store.db.execute(
            "INSERT OR IGNORE INTO events (parcel_id, key, time_utc, time, description,"
            " location, status, raw_code) VALUES (?,?,?,?,?,?,?,?)",
            (pid, event["key"], event["time_utc"], event["time"], event["description"],
             event["location"], event["status"], event["raw_code"]))
        if str(event["time_utc"]) >= str(row["last_event_utc"] or ""):
            values.update(last_event_time=event["time"], last_event_utc=event["time_utc"],
                          last_event_desc=event["description"], last_event_loc=event["location"])
    store.update(pid, values)
    store.db.execute("UPDATE text_messages SET parcel_id = ? WHERE parcel_id = ?",
                     (pid, int(item["id"])))
    store.delete(int(item["id"]))


def _mark_collected(store: Store, pid: int, why: str) -> None:
    now = now_iso()
    store.update(pid, {"status": Status.DELIVERED.value, "raw_status": f"collected ({why})"[:200],
                       "next_check_at": None, "updated_at": now})


# -- parcelctl collected --------------------------------------------------------------------

def collect(store: Store, ref: str, now: datetime | None = None) -> sqlite3.Row:
    """Mark what ``ref`` names (a pickup code, a ``PU-`` number, a waybill number or its
    tail) as collected. Call inside a transaction. Exactly one thing waiting must match."""
    text = " ".join(normalize(ref).split())
    if not text or len(text) > 60:
        raise UsageError("give a pickup code, a pickup item's PU-… number or a tracking number")
    db = store.db
    typed = text.upper().replace(" ", "")
    waiting = db.execute("SELECT * FROM parcels WHERE status = ? AND archived = 0"
                         " AND kind IN ('waybill', 'pickup')", (_READY,)).fetchall()
    matches = [r for r in waiting
               if typed in (str(r["number"]).upper(), normalize_number(str(r["number"])))
               or text in split_codes(r["pickup_code"])
               or typed == normalize_number(str(r["number"])).upper()]
    if not matches:
        matches = [r for r in waiting if len(typed) >= 4 and typed.isdigit() and (
            str(r["number"]).endswith(typed) or r["pickup_tail"] == typed)]
    if not matches:
        numbered = db.execute("SELECT * FROM parcels WHERE number IN (?, ?) AND archived = 0",
                              (typed, normalize_number(text))).fetchall()
        if numbered:
            state = str(numbered[0]["status"])
            raise UsageError(f"{numbered[0]['number']} is {state}, not waiting for pickup")
        raise UsageError(f"nothing waiting for pickup has the code or number '{text}'",
                         hint="see parcelctl list --status ready_for_pickup")
    if len(matches) > 1:
        shown = ", ".join(str(r["number"]) for r in matches[:5])
        raise UsageError(f"'{text}' matches {len(matches)} parcels waiting: {shown}",
                         hint="give the number of the one you collected")
    row = matches[0]
    when = now or utcnow()
    event = TrackingEvent(when, "已取件 (parcelctl collected)", row["station"] or "",
                          Status.DELIVERED, "collected")
    store.add_events(int(row["id"]), [event])
    store.update(int(row["id"]), {"status": Status.DELIVERED.value, "raw_status": "collected",
                                  "next_check_at": None, "updated_at": iso(when),
                                  **_last_event_columns(event)})
    return store.get(int(row["id"]))
