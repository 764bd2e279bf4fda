"""SQLite access. One file, WAL, busy timeout, migrations on open, one transaction per unit.

The store never holds secrets: tokens and keys live in the secret store (config.py).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StoreError
from .migrations import APPLICATION_ID, MIGRATIONS
from .status import FINAL_STATUSES, Status

if TYPE_CHECKING:  # list and show never build these (see status.py)
    from .models import Order, TrackingEvent, TrackResult, Waybill

SQLITE_MAGIC = b"SQLite format 3\x00"
#: When a parcel last changed: its newest scan, or without one (an imported order of a
#: platform without traces) the platform's time of the order's last change, which an import
#: stores as ``updated_at``. What the "history, not news" rule of a shop's first import
#: compares (notifications, ``sync``'s lines, ``digest``).
CHANGED_AT = "coalesce(last_event_utc, updated_at)"
BUSY_TIMEOUT_MS = 30_000


def iso(dt: datetime) -> str:
    """UTC, whole seconds: ``2026-11-25T10:00:00+00:00`` (text that sorts like the instants).

    ``isoformat`` rather than ``strftime``: half the cost, and an import calls this a few
    times per order (benchmarks)."""
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def now_iso() -> str:
    return iso(datetime.now(UTC))


@dataclass(slots=True)
class Change:
    """What one update did to a parcel (drives notifications and watch highlights)."""

    parcel_id: int
    number: str
    carrier: str
    old_status: str
    new_status: str
    new_events: int
    pickup_code: str | None = None
    description: str = ""
    #: For a parcel this import created: :data:`CHANGED_AT` as stored,
    #: so notifications can tell history from news without reading the row back.
    changed_at: str | None = None
    #: Created by the first import of a shop (its account had never synced): the changes
    #: of such a parcel older than ``notify.backlog_hours`` are the shop's history, not news.
    #: An order of a shop linked long ago that shipped while you were away is news.
    first_import: bool = False

    @property
    def status_changed(self) -> bool:
        return self.old_status != self.new_status


#: Short prefixes for unshipped-order references shown where a waybill number would be.
ORDER_PREFIX = {"kuaishou": "KS", "taobao": "TB", "douyin": "DY", "jd": "JD", "pinduoduo": "PDD"}


def order_reference(provider: str, order_id: str) -> str:
    return f"{ORDER_PREFIX.get(provider, provider.upper())}-{order_id}"


def _order_columns(order: Order) -> dict[str, Any]:
    """The parcel columns an order fills in, in the order the bulk INSERT lists them."""
    return {"shop": order.shop, "quantity": order.quantity, "price_cents": order.price_cents,
            "order_time": iso(order.created_at) if order.created_at else None,
            "promised_ship_at": iso(order.promised_ship_at) if order.promised_ship_at else None}


def _last_event_columns(event: TrackingEvent) -> dict[str, Any]:
    """The parcel columns that show its newest event."""
    return {"last_event_time": event.time.isoformat(), "last_event_utc": iso(event.time),
            "last_event_desc": event.description, "last_event_loc": event.location}


#: The way a parcel moves when nothing goes wrong; a shop's trace only moves it forward here.
_PROGRESS = {status.value: rank for rank, status in enumerate((
    Status.UNKNOWN, Status.INFO_RECEIVED, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY,
    Status.READY_FOR_PICKUP, Status.DELIVERED))}


def _trace_moves(old: str, new: Status) -> bool:
    """May a shop's own trace (extra detail beside the tracking provider) take a parcel from
    ``old`` to ``new``? Never backwards along the normal course (its steps and the
    tracker's scans are timed apart), and out of a final status only into another one."""
    if old in {s.value for s in FINAL_STATUSES}:
        return new in FINAL_STATUSES
    if old in _PROGRESS and new.value in _PROGRESS:
        return _PROGRESS[new.value] > _PROGRESS[old]
    return True


def _order_numbers(order: Order) -> set[str]:
    """Every parcel number an order can touch: its waybills and its placeholder."""
    return {w.number for w in order.waybills} | {order_reference(order.provider, order.order_id)}


#: SQLite's primary result code -> what happened, what to do, for failures of the machine
#: rather than of the file. Everything saved before the failing write is intact (one
#: transaction per unit of work), so the hints can say so.
_MACHINE_PROBLEMS = {
    "SQLITE_FULL": ("the disk holding {path} is full",
                    "free some space and run again; what was saved before is intact"),
    "SQLITE_READONLY": ("{path} cannot be written (read-only file, directory or disk)",
                        "check the permissions of the file and its directory"),
    "SQLITE_IOERR": ("the disk failed while parcelctl wrote {path} (I/O error)",
                     "check the disk, then run again; what was saved before is intact"),
    "SQLITE_CANTOPEN": ("{path} cannot be opened",
                        "check that its directory exists and is writable"),
    "SQLITE_BUSY": ("another program kept {path} locked for too long",
                    "see what else uses the file (another parcelctl?) and run again"),
}
#: ... and failures of the file itself. A file that is not a usable store was not touched.
_MOVE_AWAY = "move the file away (it was left unchanged) and run again"
_FILE_PROBLEMS = {
    "SQLITE_CORRUPT": ("{path} is damaged",
                       "move the file away (or restore a backup) and run again"),
    "SQLITE_NOTADB": ("{path} is not a parcelctl database", _MOVE_AWAY),
}


def explain(exc: BaseException, path: Path, *, machine_only: bool = False
            ) -> StoreError | None:
    """A known SQLite failure (disk full, read-only, I/O error, a damaged file…) as a
    one-line StoreError about ``path``; ``None`` for anything else (a bug, shown as
    unexpected). ``machine_only``: only failures that are not the file's fault."""
    if not isinstance(exc, sqlite3.Error):
        return None
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    tables = (_MACHINE_PROBLEMS,) if machine_only else (_MACHINE_PROBLEMS, _FILE_PROBLEMS)
    for table in tables:
        for prefix, (message, hint) in table.items():
            # Extended codes refine the primary one: SQLITE_IOERR_WRITE, SQLITE_READONLY_…
            if name == prefix or name.startswith(prefix + "_"):
                return StoreError(message.format(path=path), hint=hint)
    return None


def _unwritable_dir(directory: Path) -> bool:
    return directory.is_dir() and not os.access(directory, os.W_OK)


class Store:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._check_file()
        try:
            if readonly:
                uri = f"file:{path}?mode=ro"
                if _unwritable_dir(path.parent) and not path.with_name(path.name + "-wal"
                                                                       ).exists():
                    # A read-only home: SQLite cannot create the WAL's -shm file beside the
                    # database, and nothing can be writing it either.
                    uri += "&immutable=1"
                self.db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                          isolation_level=None, check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if _unwritable_dir(path.parent):
                    raise StoreError(f"{path.parent} is read-only: parcels can be listed "
                                     "and shown, not changed",
                                     hint="make it writable, or point PARCELCTL_HOME at a "
                                          "writable copy")
                self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000,
                                          isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._check_ours()  # before anything that could write to a foreign file
            if not readonly:
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
                _chmod600(path)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            # A read-only disk or a lock held too long is not the file's fault: "move the
            # file away" would send the user after the wrong problem.
            raise explain(exc, path, machine_only=True) or StoreError(
                f"{path} is not a usable parcelctl database ({exc})",
                hint=_MOVE_AWAY,
            ) from None

    def _check_file(self) -> None:
        try:
            with self.path.open("rb") as handle:
                head = handle.read(16)
        except FileNotFoundError:
            if self.readonly:
                raise StoreError("no parcels yet",
                                 hint="add one with 'parcelctl add NUMBER'") from None
            return
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc.strerror}") from None
        if head and head != SQLITE_MAGIC:
            raise StoreError(
                f"{self.path} is not a parcelctl database (not SQLite)",
                hint=_MOVE_AWAY,
            )

    def _check_ours(self) -> None:
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        tables = self.db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        if app_id != APPLICATION_ID and (tables or app_id):
            raise StoreError(
                f"{self.path} is a SQLite database of another program",
                hint=_MOVE_AWAY,
            )

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path} was written by a newer parcelctl",
                             hint="upgrade parcelctl")
        if version == len(MIGRATIONS):
            return
        if self.readonly:
            # The first `list` after upgrading parcelctl must not fail: the upgrade runs once
            # through a writing connection (the same transaction any writer would run), then
            # this one reads. Only a store that cannot be written stays refused.
            try:
                Store(self.path).close()
            except (StoreError, OSError):
                raise StoreError("the database needs an upgrade and cannot be written here",
                                 hint="run any command that writes, e.g. 'parcelctl sync', "
                                      "where the file is writable") from None
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]  # re-check locked
            for number, (_name, sql) in enumerate(MIGRATIONS, start=1):
                if number <= version:
                    continue
                for statement in sql.split(";\n"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")
            self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self.db.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing: a crash or error inside leaves the previous state intact."""
        self.begin()
        try:
            yield self.db
        except BaseException:
            self.rollback()
            raise
        self.commit()

    # The three steps of :meth:`transaction`, for a transaction that spans awaits (a
    # streamed account import, see sync.py).
    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        # After some errors (disk full, I/O error) SQLite has already rolled the whole
        # transaction back; a second ROLLBACK would fail and hide the error that matters.
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # -- parcels ----------------------------------------------------------------------------
    def find(self, number: str, carrier: str = "") -> sqlite3.Row | None:
        """Exact (carrier, number); an unknown carrier on either side matches by number."""
        if carrier:
            row: sqlite3.Row | None = self.db.execute(
                "SELECT * FROM parcels WHERE carrier=? AND number=?", (carrier, number)).fetchone()
            if row is not None:
                return row
            row = self.db.execute("SELECT * FROM parcels WHERE carrier='' AND number=?",
                                  (number,)).fetchone()
            return row
        rows = self.db.execute("SELECT * FROM parcels WHERE number=? ORDER BY id",
                               (number,)).fetchall()
        return rows[0] if len(rows) >= 1 else None

    def find_all(self, number: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM parcels WHERE number=? ORDER BY id",
                               (number,)).fetchall()

    def add_parcel(self, number: str, carrier: str, *, tracking_provider: str,
                   label: str = "", phone: str | None = None, title: str = "",
                   kind: str = "waybill", status: Status = Status.UNKNOWN,
                   source: tuple[str, str, str] | None = None) -> tuple[int, bool]:
        """Insert or merge. Returns (parcel id, created). Call inside a transaction."""
        now = now_iso()
        existing = self.find(number, carrier)
        if existing is not None:
            pid = int(existing["id"])
            updates: dict[str, Any] = {}
            if carrier and not existing["carrier"]:
                updates["carrier"] = carrier
            if label:
                updates["label"] = label
            if phone:
                updates["phone"] = phone
            if title and not existing["title"]:
                updates["title"] = title
            if existing["archived"] and source is None:
                updates["archived"] = 0
            if updates:
                self._update(pid, updates)
            created = False
        else:
            cur = self.db.execute(
                "INSERT INTO parcels (carrier, number, kind, status, title, label, phone,"
                " tracking_provider, created_at, updated_at, next_check_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (carrier, number, kind, status.value, title, label, phone, tracking_provider,
                 now, now, now))
            pid = int(cur.lastrowid or 0)
            created = True
        if source is not None:
            self.db.execute(
                "INSERT OR IGNORE INTO sources (parcel_id, provider, account, order_id)"
                " VALUES (?,?,?,?)", (pid, *source))
        return pid, created

    def _update(self, pid: int, values: dict[str, Any]) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        self.db.execute(f"UPDATE parcels SET {columns} WHERE id = ?",  # noqa: S608 - fixed names
                        (*values.values(), pid))

    def update(self, pid: int, values: dict[str, Any]) -> None:
        """Set columns of one parcel (``parcelctl import`` and ``collected``)."""
        self._update(pid, values)

    def get(self, pid: int) -> sqlite3.Row:
        row = self.db.execute("SELECT * FROM parcels WHERE id=?", (pid,)).fetchone()
        if row is None:
            raise StoreError(f"parcel {pid} vanished")
        return row  # type: ignore[no-any-return]

    def events(self, pid: int) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM events WHERE parcel_id=? ORDER BY time_utc DESC, id DESC", (pid,)
        ).fetchall()

    def sources(self, pid: int) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT provider, account, order_id FROM sources WHERE parcel_id=? ORDER BY rowid",
            (pid,)).fetchall()

    def apply_result(self, pid: int, result: TrackResult, *, next_check_at: datetime | None,
                     checked_at: datetime) -> Change:
        """Merge one tracking answer: new events only, status, last event, pickup code."""
        row = self.get(pid)
        inserted = self.add_events(pid, result.events)
        values: dict[str, Any] = {"checked_at": iso(checked_at),
                                  "next_check_at": iso(next_check_at) if next_check_at else None,
                                  "last_error": result.error}
        old_status = str(row["status"])
        new_status = old_status
        if result.error is None and not (result.no_info and old_status != Status.UNKNOWN):
            new_status = result.status.value
        newest = max(result.events, key=lambda e: e.time, default=None)
        # A text said it waits at a station (`parcelctl import`) after the tracker's newest
        # scan: a tracker that has not caught up yet does not take that back.
        behind_text = bool(old_status == Status.READY_FOR_PICKUP and row["raw_status"] == "text"
                           and row["last_event_utc"] and (newest is None or iso(newest.time)
                                                          < str(row["last_event_utc"])))
        if behind_text:
            new_status = old_status
        changed = inserted > 0 or new_status != old_status
        if new_status != old_status:
            values["status"] = new_status
            values["raw_status"] = result.raw_status
        # Only fill in an unknown carrier, never replace one (nor with ""), and never with the
        # name of the tracker that answered: that is the service, not a carrier it detected,
        # and as the carrier it would keep the parcel from matching the same waybill
        # imported from a shop with its real carrier (parcels are keyed by carrier, number).
        detected = result.carrier.strip()
        if (detected and not row["carrier"]
                and detected.lower() != str(row["tracking_provider"]).lower()
                and self.db.execute("SELECT 1 FROM parcels WHERE carrier=? AND number=?",
                                    (detected, row["number"])).fetchone() is None):
            values["carrier"] = detected  # the provider detected it: remember
        if (result.pickup_code and result.pickup_code != row["pickup_code"]
                and not behind_text):
            values["pickup_code"] = result.pickup_code
            changed = True
        if inserted and newest is not None and not behind_text:
            values.update(_last_event_columns(newest))
        if changed:
            values["updated_at"] = now_iso()
        self._update(pid, values)
        return Change(pid, str(row["number"]), str(values.get("carrier", row["carrier"])),
                      old_status, new_status, inserted,
                      pickup_code=values.get("pickup_code", row["pickup_code"]),
                      description=newest.description if newest and inserted else "")

    def add_events(self, pid: int, events: Iterable[TrackingEvent]) -> int:
        before = self.db.total_changes
        self.db.executemany(
            "INSERT OR IGNORE INTO events (parcel_id, key, time_utc, time, description,"
            " location, status, raw_code) VALUES (?,?,?,?,?,?,?,?)",
            [(pid, e.key, iso(e.time), e.time.isoformat(), e.description, e.location,
              e.status.value if e.status else None, e.raw_code) for e in events])
        return self.db.total_changes - before

    def set_error(self, pid: int, message: str, next_check_at: datetime | None) -> None:
        self._update(pid, {"last_error": message,
                           "next_check_at": iso(next_check_at) if next_check_at else None})

    def due(self, now: datetime, *, force: bool = False,
            providers: Iterable[str] | None = None) -> list[sqlite3.Row]:
        """Active waybills whose next check has come (``force``: every active waybill)."""
        # `returned` is polled only while on its way back (next_check_at set; errata Q2).
        sql = ("SELECT * FROM parcels WHERE active = 1 AND kind = 'waybill'"
               " AND (status != 'returned' OR next_check_at IS NOT NULL)")
        args: list[Any] = []
        if not force:
            sql += " AND (next_check_at IS NULL OR next_check_at <= ?)"
            args.append(iso(now))
        if providers is not None:
            names = list(providers)
            sql += f" AND tracking_provider IN ({','.join('?' * len(names))})"
            args.extend(names)
        return self.db.execute(sql + " ORDER BY next_check_at", args).fetchall()

    def next_due(self) -> str | None:
        row = self.db.execute(
            "SELECT min(next_check_at) FROM parcels WHERE active = 1 AND kind = 'waybill'"
            " AND (status != 'returned' OR next_check_at IS NOT NULL)").fetchone()
        return row[0] if row else None

    def archive(self, pid: int, archived: bool = True) -> None:
        self._update(pid, {"archived": int(archived), "updated_at": now_iso()})

    def set_label(self, pid: int, label: str) -> None:
        """The user's name for a parcel ('' clears it). Not a change of the parcel: the
        list keeps its place (it sorts by the last scan)."""
        self._update(pid, {"label": label})

    def delete(self, pid: int) -> None:
        self.db.execute("DELETE FROM parcels WHERE id=?", (pid,))

    # -- orders -----------------------------------------------------------------------------
    def upsert_order(self, order: Order, tracking_provider: str) -> list[Change]:
        """One platform order -> its waybill parcels, or one 'order' placeholder parcel."""
        return self.import_orders([order], tracking_provider)

    def import_orders(self, orders: Iterable[Order], tracking_provider: str) -> list[Change]:
        """Many orders (a page of an account import); call inside a transaction.

        The result is exactly that of :meth:`upsert_order` on each order in turn (a property
        test holds it to that). Orders that touch no stored parcel and no other order of the
        batch, which is every order of a first import, are inserted with a few
        ``executemany`` calls; the others are merged one by one, after them and in order.
        """
        batch = list(orders)
        keys = [_order_numbers(order) for order in batch]
        stored = self._stored_numbers({n for numbers in keys for n in numbers})
        fresh: list[Order] = []
        merged: list[Order] = []
        seen: set[str] = set()
        for order, numbers in zip(batch, keys, strict=True):
            # A number already stored or met earlier in this batch, or a waybill listed twice
            # in the order itself, needs the merge path.
            clash = numbers & stored or numbers & seen or len(numbers) <= len(order.waybills)
            (merged if clash else fresh).append(order)
            seen |= numbers
        items: list[tuple[Order, Waybill | None]] = []
        for order in fresh:
            items.extend([(order, w) for w in order.waybills] if order.waybills
                         else [(order, None)])
        changes = self._insert_fresh(items, tracking_provider)
        for order in merged:
            changes.extend(self._merge_order(order, tracking_provider))
        if merged:
            # A parcel created and changed again in this batch: its first change's time is
            # not the row's any more (readers fall back to the row).
            counts = Counter(c.parcel_id for c in changes)
            for change in changes:
                if counts[change.parcel_id] > 1:
                    change.changed_at = None
        return changes

    def _stored_numbers(self, numbers: set[str]) -> set[str]:
        return {str(row[0]) for row in self.select_in("SELECT number FROM parcels WHERE"
                                                      " number IN ({})", numbers)}

    def change_times(self, ids: Iterable[int]) -> dict[int, str]:
        """id -> when the parcel last changed, as stored (:data:`CHANGED_AT`)."""
        return {int(row[0]): str(row[1] or "") for row in self.select_in(
            f"SELECT id, {CHANGED_AT} FROM parcels WHERE id IN ({{}})", ids)}  # noqa: S608

    def select_in(self, sql: str, values: Iterable[Any]) -> Iterator[sqlite3.Row]:
        """Rows of ``sql`` whose ``{}`` is filled with placeholders for ``values``, asked
        in chunks that stay under SQLite's limit on bound parameters."""
        ordered = sorted(values)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i:i + 500]
            yield from self.db.execute(sql.format(",".join("?" * len(chunk))), chunk)

    def _insert_fresh(self, items: list[tuple[Order, Waybill | None]], tracking_provider: str
                      ) -> list[Change]:
        """New parcels (none of their numbers is stored yet), with their sources and traces.

        ``None`` as the waybill means the order's unshipped placeholder.
        """
        if not items:
            return []
        now = now_iso()
        rows: list[tuple[Any, ...]] = []
        traces: dict[str, list[TrackingEvent]] = {}  # number -> the platform's own trace
        for order, waybill in items:
            when = iso(order.updated_at) if order.updated_at else now
            common = _order_columns(order).values()
            if waybill is None:
                rows.append(("", order_reference(order.provider, order.order_id), "order",
                              order.status.value, order.raw_status, order.title, "", now, when,
                              None, *common))
                continue
            status = Status.INFO_RECEIVED
            trace = order.traces.get(waybill.number)
            if trace:
                traces[waybill.number] = trace
                newest = max(trace, key=lambda e: e.time)
                if newest.status is not None:
                    status = newest.status
            # The platform's own final word (signed/closed) for a parcel new to us.
            if order.status in FINAL_STATUSES:
                status = order.status
            # A platform's own trace (Taobao) is extra detail: the waybill is tracked like
            # every other (a trace may lag, stop, or claim delivery for offline consignments).
            tracker = tracking_provider
            # A parcel already over (delivered, cancelled, returned) is never polled, and its
            # JSON says so with a null next check, as for any other parcel at its end.
            polled = status not in FINAL_STATUSES
            rows.append((waybill.carrier, waybill.number, "waybill", status.value, "",
                         order.title, tracker, now, when, now if polled else None, *common))
        last = self.db.execute("SELECT coalesce(max(id), 0) FROM parcels").fetchone()[0]
        self.db.executemany(
            "INSERT INTO parcels (carrier, number, kind, status, raw_status, title,"
            " tracking_provider, created_at, updated_at, next_check_at, shop, quantity,"
            " price_cents, order_time, promised_ship_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows)
        # Inside this transaction nobody else inserts: rowids above the old maximum are
        # exactly ours (INTEGER PRIMARY KEY without AUTOINCREMENT takes max + 1).
        ids = {str(number): int(pid) for pid, number in self.db.execute(
            "SELECT id, number FROM parcels WHERE id > ?", (last,))}
        if len(ids) != len(rows):
            raise StoreError("the import wrote an unexpected number of parcels",
                             hint="run the sync again; nothing of it was saved")
        sources = []
        changes = []
        for (order, _), row in zip(items, rows, strict=True):
            pid = ids[row[1]]
            sources.append((pid, order.provider, order.account, order.order_id))
            change = Change(pid, row[1], row[0], "", row[3], 0, changed_at=row[8])
            trace = traces.get(row[1])
            if trace and self.add_events(pid, trace):
                columns = _last_event_columns(max(trace, key=lambda e: e.time))
                self._update(pid, columns)
                change.changed_at = columns["last_event_utc"]
            changes.append(change)
        self.db.executemany("INSERT OR IGNORE INTO sources (parcel_id, provider, account,"
                            " order_id) VALUES (?,?,?,?)", sources)
        return changes

    def _merge_order(self, order: Order, tracking_provider: str) -> list[Change]:
        """An order that touches stored parcels: merge it one parcel at a time."""
        source = (order.provider, order.account, order.order_id)
        placeholder_number = order_reference(order.provider, order.order_id)
        common = _order_columns(order)
        changes: list[Change] = []
        if order.waybills:
            # Shipped: the placeholder (if any) gives way to the real waybills, which keep
            # what you did to it: archived stays archived (no polls, no notifications), and
            # your label stays.
            kept = self.db.execute("SELECT archived, label FROM parcels WHERE kind='order'"
                                   " AND carrier='' AND number=?",
                                   (placeholder_number,)).fetchone()
            self.db.execute("DELETE FROM parcels WHERE kind='order' AND carrier='' AND number=?",
                            (placeholder_number,))
            for waybill in order.waybills:
                existing = self.find(waybill.number, waybill.carrier)
                if existing is None:
                    fresh = self._insert_fresh([(order, waybill)], tracking_provider)
                    if kept is not None and (kept["archived"] or kept["label"]):
                        self._update(fresh[0].parcel_id, {"archived": kept["archived"],
                                                          "label": kept["label"]})
                    if kept is None or not kept["archived"]:
                        changes.extend(fresh)  # an archived order's shipping is no news
                else:
                    changes.append(self._merge_waybill(order, waybill, existing, source,
                                                       common))
            return changes
        existing = self.find(placeholder_number, "")
        if existing is None:
            return self._insert_fresh([(order, None)], tracking_provider)
        pid, _ = self.add_parcel(placeholder_number, "", kind="order", tracking_provider="",
                                 title=order.title, status=order.status, source=source)
        row = self.get(pid)
        values = dict(common)
        if row["status"] != order.status.value:
            values.update(status=order.status.value, raw_status=order.raw_status,
                          updated_at=now_iso())
        values["next_check_at"] = None
        self._update(pid, values)
        changes.append(Change(pid, placeholder_number, "", str(row["status"]),
                              order.status.value, 0))
        return changes

    def _merge_waybill(self, order: Order, waybill: Waybill, existing: sqlite3.Row,
                       source: tuple[str, str, str], common: dict[str, Any]) -> Change:
        trace = order.traces.get(waybill.number)
        pid, _ = self.add_parcel(waybill.number, waybill.carrier,
                                 tracking_provider=str(existing["tracking_provider"]),
                                 title=order.title, source=source)
        row = self.get(pid)
        values = {k: v for k, v in common.items() if v is not None}
        if trace and self.add_events(pid, trace):
            newest = max(trace, key=lambda e: e.time)
            columns = _last_event_columns(newest)
            # Only a newer scan moves the parcel: a shop's trace that lags behind what a
            # tracking provider already stored (worded differently, so its events are new)
            # dragged a delivered parcel back to in transit, polled it again and notified
            # "delivered" a second time.
            stored = row["last_event_utc"]
            if not stored or columns["last_event_utc"] > str(stored):
                values.update(columns, updated_at=now_iso())
                if newest.status is not None and _trace_moves(str(row["status"]), newest.status):
                    values["status"] = newest.status.value
        # The platform's own final word (signed/closed) when no tracking says otherwise. A
        # closed order speaks for its waybill only when no other order shares it (two orders
        # in one box, one refunded): that waybill is still on its way to the other order.
        shared = order.status is Status.CANCELLED and self._other_orders(pid, source)
        if (order.status in FINAL_STATUSES and not shared
                and row["status"] in ("unknown", "info_received")):
            values.update(status=order.status.value, updated_at=now_iso(), next_check_at=None)
        elif (row["status"] == Status.CANCELLED.value and order.status not in FINAL_STATUSES
              and not row["last_event_utc"]):
            # Cancelled by another order that shares this waybill, and this one is live: it
            # is tracked again (no scan yet said anything else).
            values.update(status=Status.INFO_RECEIVED.value, updated_at=now_iso(),
                          next_check_at=now_iso())
        self._update(pid, values)
        return Change(pid, waybill.number, waybill.carrier, str(row["status"]),
                      str(values.get("status", row["status"])), 0)

    def _other_orders(self, pid: int, source: tuple[str, str, str]) -> bool:
        """Does another order than ``source`` carry this parcel?"""
        return self.db.execute(
            "SELECT 1 FROM sources WHERE parcel_id=? AND order_id != ''"
            " AND (provider, account, order_id) != (?, ?, ?) LIMIT 1",
            (pid, *source)).fetchone() is not None

    # -- accounts ---------------------------------------------------------------------------
    def upsert_account(self, provider: str, account: str, **values: Any) -> None:
        self.db.execute(
            "INSERT INTO accounts (provider, account, linked_at) VALUES (?,?,?)"
            " ON CONFLICT (provider, account) DO NOTHING", (provider, account, now_iso()))
        if values:
            columns = ", ".join(f"{k} = ?" for k in values)
            self.db.execute(
                f"UPDATE accounts SET {columns} WHERE provider=? AND account=?",  # noqa: S608
                (*values.values(), provider, account))

    def accounts(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM accounts ORDER BY provider, account").fetchall()

    def account(self, provider: str, account: str) -> sqlite3.Row | None:
        return self.db.execute(  # type: ignore[no-any-return]
            "SELECT * FROM accounts WHERE provider=? AND account=?",
            (provider, account)).fetchone()

    def unlink_account(self, provider: str, account: str, *, purge: bool) -> int:
        """Drop the account and its sources; with ``purge`` also parcels left sourceless."""
        pids = [r[0] for r in self.db.execute(
            "SELECT DISTINCT parcel_id FROM sources WHERE provider=? AND account=?",
            (provider, account))]
        self.db.execute("DELETE FROM sources WHERE provider=? AND account=?", (provider, account))
        self.db.execute("DELETE FROM accounts WHERE provider=? AND account=?",
                        (provider, account))
        if not purge:
            # Every parcel stays, placeholders of unshipped orders included: linking again
            # finds them by number, archived and labelled as you left them.
            return 0
        removed = 0
        for pid in pids:
            left = self.db.execute("SELECT count(*) FROM sources WHERE parcel_id=?",
                                   (pid,)).fetchone()[0]
            if not left:
                self.delete(pid)
                removed += 1
        return removed

    def count_only_from(self, provider: str, account: str) -> int:
        """Parcels whose only source is this account (what ``unlink --purge`` removes)."""
        return int(self.db.execute(
            "SELECT count(DISTINCT s.parcel_id) FROM sources s WHERE s.provider=? AND"
            " s.account=? AND NOT EXISTS (SELECT 1 FROM sources o WHERE o.parcel_id ="
            " s.parcel_id AND NOT (o.provider=? AND o.account=?))",
            (provider, account, provider, account)).fetchone()[0])

    # -- runs -------------------------------------------------------------------------------
    def start_run(self) -> int:
        cur = self.db.execute("INSERT INTO sync_runs (started_at) VALUES (?)", (now_iso(),))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, exit_code: int, summary: dict[str, Any]) -> None:
        import json  # here: list and show open the store but never write runs

        self.db.execute("UPDATE sync_runs SET finished_at=?, exit_code=?, summary=? WHERE id=?",
                        (now_iso(), exit_code, json.dumps(summary, ensure_ascii=False), run_id))


def _chmod600(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):
            candidate.chmod(0o600)
