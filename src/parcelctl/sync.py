"""Orchestration: accounts -> orders -> waybills -> tracking -> store.

Network waits overlap (asyncio): the linked accounts are imported concurrently, then the
tracking providers run concurrently (they track what the imports brought), and inside a
provider its batches or windows run concurrently, bounded by the provider's own rate
limiter and concurrency. Writes are not concurrent. Each account's import is applied in ONE
transaction, so a crash or failure leaves that account exactly as it was before
(all-or-nothing: its watermark moves only with all of its orders); its pages are written
into that transaction while the next ones are fetched (_StreamedImport). A tracking
provider's answers are saved as they come, a few per transaction (_AnswerWriter): each
parcel is all-or-nothing, and a failure keeps the answers that came before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import boundary
from .config import Config
from .errors import AuthorizationNeeded, ConfigError, ExitCode, ParcelctlError
from .http import gather_or_cancel
from .models import Order, Status, TrackRequest, TrackResult, utcnow
from .policy import Policy
from .providers import registry
from .providers.base import AccountSession
from .services import (
    as_platform,
    as_tracking,
    load_tokens,
    make_provider,
    save_tokens,
    tracking_provider_name,
)
from .spool import PageSpool
from .store import Change, Store, iso

log = logging.getLogger("parcelctl.sync")

Progress = Callable[[str, int, int], None]  # (label, done, total)


@dataclass(slots=True)
class UnitResult:
    """One account or one tracking provider in a sync run."""

    name: str
    kind: str  # "account" | "tracking"
    ok: bool = True
    requests: int = 0
    items: int = 0
    changed: int = 0
    error: str | None = None
    exit_code: int = 0
    item_errors: dict[str, str] = field(default_factory=dict)
    #: Tracking: answers saved (a provider that fails partway keeps those; not in the JSON,
    #: whose fields are the contract, but told to people by the report).
    answered: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ok": self.ok, "requests": self.requests,
                "items": self.items, "changed": self.changed, "error": self.error,
                "item_errors": self.item_errors}


@dataclass(slots=True, repr=False)
class SyncSummary:
    units: list[UnitResult] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run() formats the repr of its task's result when it puts
        # the SIGINT handler back (signal._int_to_enum), and the dataclass repr of a shop's
        # first import, every change spelled out, cost ~50 ms at the end of each sync.
        return (f"SyncSummary(units={[u.name for u in self.units]!r}, "
                f"changes={len(self.changes)})")

    @property
    def exit_code(self) -> int:
        failed = [u for u in self.units if not u.ok]
        if any(u.exit_code == ExitCode.AUTH_NEEDED for u in failed):
            return int(ExitCode.AUTH_NEEDED)
        if failed:
            # "Partial" only when something else was saved; a total failure is an error.
            return int(ExitCode.PARTIAL if len(failed) < len(self.units) else ExitCode.ERROR)
        return int(ExitCode.OK)

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at) if self.finished_at else None,
            "exit_code": self.exit_code,
            "providers": [u.to_json() for u in self.units],
            "changes": [
                {"tracking_number": c.number, "carrier": c.carrier, "old_status": c.old_status,
                 "status": c.new_status, "new_events": c.new_events,
                 "pickup_code": c.pickup_code, "first_import": c.first_import}
                for c in self.changes if c.status_changed or c.new_events],
        }


class Syncer:
    def __init__(self, config: Config, store: Store, *, policy: Policy | None = None,
                 clock: Callable[[], datetime] = utcnow, progress: Progress | None = None,
                 on_changes: Callable[[list[Change]], None] | None = None) -> None:
        self.on_changes = on_changes  # called inside each unit's transaction
        #: Every unit as it starts: after a Ctrl-C, what was saved is told from these.
        self.started: list[UnitResult] = []
        self.config = config
        self.store = store
        self.policy = policy or Policy.from_config(config.get("polling"))
        self.clock = clock
        self.progress = progress

    async def run(self, *, providers: Sequence[str] | None = None, force: bool = False,
                  only_ids: set[int] | None = None) -> SyncSummary:
        """``only_ids``: track just these parcels (``add``), no account import."""
        # One writer at a time on the store's connection: a streamed import keeps its
        # transaction open across awaits, and every other write waits for it here.
        self._writing = asyncio.Lock()
        # Every provider call ends by then (boundary): how long sync holds its lock.
        self.deadline = boundary.Deadline.after(
            self.config.number("sync.deadline", boundary.DEADLINE_SECONDS))
        summary = SyncSummary(started_at=self.clock())
        accounts = [a for a in self.store.accounts()
                    if (providers is None or a["provider"] in providers) and only_ids is None]
        with _gc_paused():
            account_units = await asyncio.gather(
                *(self._sync_account(str(a["provider"]), str(a["account"]), a["sync_since"],
                                     summary) for a in accounts))
        summary.units.extend(account_units)
        wanted = None
        default_tracker: str | None = None
        if providers is not None:
            # Rows of other trackers are not read at all: after a big import with
            # ``--provider kuaishou`` they are thousands (benchmarks).
            wanted = list(providers)
            default_tracker = tracking_provider_name(self.config)
            if default_tracker in providers:
                wanted.append("")  # rows that follow the default tracker
        due = self.store.due(self.clock(), force=force, providers=wanted)
        if only_ids is not None:
            due = [row for row in due if int(row["id"]) in only_ids]
        groups: dict[str, list[Any]] = defaultdict(list)
        for row in due:
            name = str(row["tracking_provider"])
            if not name:
                default_tracker = default_tracker or tracking_provider_name(self.config)
                name = default_tracker
            if providers is None or name in providers:
                groups[name].append(row)
        for name in list(groups):
            if registry.load(name).kind == "platform":
                # A platform is no tracker; rows that named one are moved to the default
                # tracker by the migration "taobao waybills are tracked".
                del groups[name]
        tracking_units = await asyncio.gather(
            *(self._track(name, rows, summary) for name, rows in sorted(groups.items())))
        summary.units.extend(tracking_units)
        summary.finished_at = self.clock()
        return summary

    # -- accounts ---------------------------------------------------------------------------
    async def _sync_account(self, provider_name: str, account: str, since: str | None,
                            summary: SyncSummary) -> UnitResult:
        unit = UnitResult(f"{provider_name}:{account}", "account")
        self.started.append(unit)
        started = self.clock()
        http = None
        tracker = ""

        def store_page(orders: list[Order]) -> list[Change]:
            found = [c for c in self.store.import_orders(orders, tracker) if c.status_changed]
            if since is None:  # the shop's first import: what it creates may be history
                for change in found:
                    change.first_import = not change.old_status
            if self.on_changes and found:
                self.on_changes(found)  # inside the import's transaction
            return found

        writer = _StreamedImport(self.store, self._writing, store_page)
        try:
            tokens = load_tokens(self.config, provider_name, account)
            provider, http = make_provider(self.config, provider_name)
            platform = as_platform(provider)
            if tokens is None:
                raise platform.reauthorize("no stored authorization for this account")

            def persist(new_tokens: Any) -> None:
                save_tokens(self.config, provider_name, account, new_tokens)

            session = AccountSession(provider_name, account, tokens, persist,
                                     since=datetime.fromisoformat(since) if since else None)
            tracker = tracking_provider_name(self.config)
            # Whatever the platform's answers raise is its error, not the run's (boundary).
            async with contextlib.aclosing(boundary.pages(
                    provider_name, platform.iter_orders(session), self.deadline)) as pages:
                async for page in pages:
                    unit.items += len(page)
                    await writer.add(page)

            def finish() -> None:
                self.store.upsert_account(
                    provider_name, account, last_sync_at=iso(self.clock()),
                    sync_since=iso(started - timedelta(minutes=5)), health="ok",
                    last_error=None,
                    access_expires_at=_iso_or_none(session.tokens.access_expires_at),
                    refresh_expires_at=_iso_or_none(session.tokens.refresh_expires_at))

            found = await writer.commit(finish)
            unit.changed = len(found)
            summary.changes.extend(found)
        except ParcelctlError as exc:
            writer.rollback()
            unit.items = 0
            self._fail(unit, exc)
            health = "reauth" if isinstance(exc, AuthorizationNeeded) else "error"
            async with self._writing:
                with self.store.transaction():
                    self.store.upsert_account(provider_name, account, health=health,
                                              last_error=str(exc))
        finally:
            writer.rollback()  # anything else (a bug, Ctrl-C): nothing half-written stays
            writer.pages.close()
            if http is not None:
                unit.requests = http.requests_sent
                await http.aclose()
        return unit

    # -- tracking ---------------------------------------------------------------------------
    async def _track(self, name: str, rows: list[Any], summary: SyncSummary) -> UnitResult:
        unit = UnitResult(name, "tracking", items=len(rows))
        self.started.append(unit)
        http = None
        try:
            provider, http = make_provider(self.config, name)
            tracker = as_tracking(provider)
            configured = tracker.settings.get("min_interval_minutes")
            min_minutes = int(configured if isinstance(configured, int | float)
                              and not isinstance(configured, bool)
                              else tracker.min_interval_minutes)
            # Even --force never asks about a number sooner than the provider allows
            # (Kuaidi100 locks numbers queried more often than every 30 minutes).
            floor = timedelta(minutes=max(min_minutes, self.policy.min_minutes))
            started = self.clock()
            ready: list[tuple[Any, TrackRequest]] = []
            refused: dict[int, str] = {}
            for row in rows:
                checked = row["checked_at"]
                if checked and started - datetime.fromisoformat(checked) < floor:
                    unit.items -= 1
                    continue
                # Answered before without an error: e.g. registered with 17TRACK already.
                request = TrackRequest(str(row["number"]), str(row["carrier"]),
                                       row["phone"] or None,
                                       known=row["checked_at"] is not None
                                       and row["last_error"] is None)
                try:
                    tracker.check_request(request)  # e.g. phone missing: no request at all
                except ParcelctlError as exc:
                    refused[int(row["id"])] = exc.render()
                    continue
                ready.append((row, request))
            # Batches of what the provider takes per call, its setting included (Cainiao's:
            # batches capped at the class value made 40 numbers 4 requests). An unusable
            # setting is left to the provider to report, as a ConfigError from `track`.
            try:
                size = max(1, tracker.numbers_per_call())
            except ConfigError:
                size = max(1, tracker.batch_size)
            batches = [ready[i:i + size] for i in range(0, len(ready), size)]
            done = 0
            # At most `concurrency` batches at a time, waits between retries included: the
            # HTTP client only bounds requests in flight, and under an outage every batch
            # would otherwise start its own round of retries.
            slots = asyncio.Semaphore(max(1, int(tracker.settings.get("concurrency")
                                                 or tracker.concurrency)))
            writer = _AnswerWriter(self, unit, summary, min_minutes)

            async def asked(batch: list[tuple[Any, TrackRequest]]) -> list[TrackResult]:
                results = await tracker.track([req for _, req in batch])
                return [boundary.vet_result(name, result) for result in results]

            async def one(index: int, batch: list[tuple[Any, TrackRequest]]) -> None:
                nonlocal done
                async with slots:
                    # Whatever the answer raises is this provider's error (boundary).
                    results = await boundary.call(name, asked(batch), self.deadline)
                writer.add(index, batch, results)
                done += len(batch)
                if self.progress:
                    self.progress(name, done, len(ready))

            try:
                # The first whole-call failure fails the provider: stop the other batches
                # instead of letting each one retry against a service that is down. What
                # was answered before it stays saved.
                await gather_or_cancel([one(i, b) for i, b in enumerate(batches)])
            finally:
                await writer.close(refused, {req.number: i for i, (_, req)
                                             in enumerate(ready)})
        except ParcelctlError as exc:
            self._fail(unit, exc)
        finally:
            if http is not None:
                unit.requests = http.requests_sent
                await http.aclose()
        return unit

    def _apply(self, row: Any, result: TrackResult, now: datetime, min_minutes: int
               ) -> Change | None:
        """Save one answer (inside the caller's transaction); the change when the status
        moved or events came."""
        if result.pickup_code is None and result.status.value == "ready_for_pickup":
            result.pickup_code = _pickup_code(result)
        last_event = max((e.time for e in result.events), default=None)
        status = result.status.value if result.error is None else str(row["status"])
        # On its way back (polled although `returned`): an error keeps it so, and a signed-for
        # answer ends the return (it reached the sender), as a provider's own answer would.
        was_returning = row["status"] == "returned" and row["next_check_at"] is not None
        returning = result.returning if result.error is None else was_returning
        if result.error is None and was_returning and status == "delivered":
            result.status, status = Status.RETURNED, "returned"
        if returning and last_event is None and row["last_event_utc"]:
            last_event = datetime.fromisoformat(str(row["last_event_utc"]))
        next_at = self.policy.next_check(status, now, provider_min_minutes=min_minutes,
                                         last_event=last_event, returning=returning)
        change = self.store.apply_result(int(row["id"]), result, next_check_at=next_at,
                                         checked_at=now)
        return change if change.status_changed or change.new_events else None

    def _vanished(self, pid: int) -> bool:
        """``parcelctl rm`` may delete a parcel while its request is in flight: skip it,
        rather than failing (and rolling back) the whole provider's results."""
        return self.store.db.execute("SELECT 1 FROM parcels WHERE id=?",
                                     (pid,)).fetchone() is None

    @staticmethod
    def _fail(unit: UnitResult, exc: ParcelctlError) -> None:
        unit.ok = False
        unit.error = str(exc)
        unit.exit_code = int(exc.exit_code)
        log.warning("%s failed: %s", unit.name, exc)


class _StreamedImport:
    """One account import written while it is fetched, still in ONE transaction.

    The transaction opens with the first page (unless another unit of the run is writing;
    then pages wait in memory until it is done) and commits after the last one, so storing
    overlaps the network waits and the import stays all-or-nothing. Readers are never
    blocked (WAL). Another process that writes (``archive``, ``rm``, ``add``) waits for the
    commit, so the write lock is never held for long: when no page has come for
    ``STALL_SECONDS`` (a retry, a throttled platform) or the transaction has been open for
    ``MAX_OPEN_SECONDS``, it is rolled back and the import goes on in memory; everything
    is then written at the end, as a whole.
    """

    STALL_SECONDS = 2.0
    MAX_OPEN_SECONDS = 15.0

    def __init__(self, store: Store, gate: asyncio.Lock,
                 write: Callable[[list[Order]], list[Change]]) -> None:
        self.store = store
        self.gate = gate
        self.write = write
        self.pages = PageSpool()  # every page so far, to write again after a yield
        self.written = 0  # pages of ``pages`` inside the open transaction
        self.changes: list[Change] = []  # what the written pages changed
        self.open = False
        self.streaming = True
        self.opened_at = 0.0
        self._stall: asyncio.TimerHandle | None = None

    async def add(self, page: list[Order]) -> None:
        self._disarm()
        self.pages.append(page)
        if self.open and time.monotonic() - self.opened_at > self.MAX_OPEN_SECONDS:
            self.give_way()
        if self.streaming and not self.open and not self.gate.locked():
            await self._begin()
        if self.open:
            self._flush()
            self._stall = asyncio.get_running_loop().call_later(self.STALL_SECONDS,
                                                                self.give_way)

    async def commit(self, finish: Callable[[], None]) -> list[Change]:
        """Write what is left, ``finish`` inside the transaction, commit: the changes."""
        self._disarm()
        if not self.open:
            await self._begin()
        self._flush()
        finish()
        self.store.commit()
        self.open = False
        self.gate.release()
        return self.changes

    def rollback(self) -> None:
        self._disarm()
        if self.open:
            self.open = False
            self.written = 0
            self.changes = []
            try:
                self.store.rollback()
            finally:
                self.gate.release()

    def give_way(self) -> None:
        """Release the write lock; the pages stay in memory and are written at the end."""
        if self.open:
            log.debug("import: no page for a while, writing it at the end instead")
        self.streaming = False
        self.rollback()

    async def _begin(self) -> None:
        await self.gate.acquire()
        try:
            self.store.begin()
        except BaseException:
            self.gate.release()
            raise
        self.open = True
        self.opened_at = time.monotonic()

    def _flush(self) -> None:
        for page in self.pages.read(self.written):
            self.changes.extend(self.write(page))
            self.written += 1

    def _disarm(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None


class _AnswerWriter:
    """A tracking provider's answers, saved while the rest are still being fetched.

    A few answered batches go into each transaction, so each parcel's status, events and
    notifications commit together (events never without their status), and a failure, a
    Ctrl-C or a kill keeps every answer written before it. Holding them all for one
    transaction at the end threw paid-for answers away with the run: Kuaidi100 bills each
    query and allows a number to be asked about again only after 30 minutes, so 900
    answers lost to the 901st request failing were bought twice, and the numbers asked
    about too soon. Writing as answers come also overlaps the store's work with the
    network waits (benchmarks).
    """

    #: Answers are written once this many wait, or with the next answer once the oldest
    #: has waited this long: what a kill can lose. More per transaction writes fewer WAL
    #: pages; one per transaction made a 1,000-waybill Kuaidi100 run slower than writing
    #: all at the end (benchmarks: store work 0.39 -> 1.1 s).
    FLUSH_ITEMS = 50
    FLUSH_SECONDS = 1.0

    def __init__(self, syncer: Syncer, unit: UnitResult, summary: SyncSummary,
                 min_minutes: int) -> None:
        self.syncer = syncer
        self.unit = unit
        self.summary = summary
        self.min_minutes = min_minutes
        self.pending: list[tuple[int, list[tuple[Any, TrackRequest]], list[TrackResult]]] = []
        self.items = 0
        self.since = 0.0  # when the oldest pending answer came
        self.changes: list[tuple[int, int, Change]] = []  # (batch, position in it, change)

    def add(self, index: int, batch: list[tuple[Any, TrackRequest]],
            results: list[TrackResult]) -> None:
        """One answered batch; written now if enough answers (or time) have gathered.

        No timer: a write raises into the batch's own task (and fails the provider), never
        into the event loop's log."""
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((index, batch, results))
        self.items += len(batch)
        due = (self.items >= self.FLUSH_ITEMS
               or time.monotonic() - self.since >= self.FLUSH_SECONDS)
        # A streamed account import holds the store across awaits; tracking runs after the
        # imports, so this is only a guard: the answers then wait for the next call.
        if due and not self.syncer._writing.locked():
            self._write({})

    async def close(self, refused: dict[int, str], ranks: dict[str, int]) -> None:
        """Write what is left (answers and refused numbers), also after a failure; then hand
        the unit's changes and item errors over in the order of its due list."""
        try:
            async with self.syncer._writing:
                self._write(refused)
        finally:
            self.changes.sort(key=lambda entry: (entry[0], entry[1]))
            self.summary.changes.extend(change for *_, change in self.changes)
            errors = self.unit.item_errors
            self.unit.item_errors = dict(sorted(errors.items(),
                                                key=lambda kv: ranks.get(kv[0], len(ranks))))

    def _write(self, refused: dict[int, str]) -> None:
        pending, self.pending, self.items = self.pending, [], 0
        if not pending and not refused:
            return
        syncer = self.syncer
        now = syncer.clock()
        written: list[tuple[int, int, Change]] = []
        errors: dict[str, str] = {}
        answered = 0
        with syncer.store.transaction():
            for index, batch, results in pending:
                by_number = {r.number: r for r in results}
                for position, (row, request) in enumerate(batch):
                    result = by_number.get(request.number)
                    if result is None or syncer._vanished(int(row["id"])):
                        continue
                    change = syncer._apply(row, result, now, self.min_minutes)
                    answered += 1
                    if result.error:
                        errors[str(row["number"])] = result.error
                    if change is not None:
                        written.append((index, position, change))
            for pid, message in refused.items():
                if syncer._vanished(pid):
                    continue
                errors[str(syncer.store.get(pid)["number"])] = message
                syncer.store.set_error(pid, message, None)
            if syncer.on_changes and written:
                syncer.on_changes([change for *_, change in written])
        # Committed: only now do they count (a rolled-back write reports nothing, and
        # notifies nobody about a status that was never saved).
        self.changes.extend(written)
        self.unit.changed += len(written)
        self.unit.answered += answered
        self.unit.item_errors.update(errors)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic collector is paused while accounts are imported: an import keeps every
    page it fetched until its commit (all-or-nothing), so each collection re-scanned
    thousands of live orders and freed nothing, ~70 ms of a 10,000-order import
    (benchmarks). Reference counting still frees everything else at once. Only the
    imports: over a tracking run of 10,000 requests the few cycles each request leaves
    added up to 70 MB more peak memory (benchmarks)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pickup_code(result: TrackResult) -> str | None:
    """Providers rarely return the 取件码 as a field; the newest event text often has it."""
    from .pickup import extract_pickup_codes

    for event in sorted(result.events, key=lambda e: e.time, reverse=True)[:3]:
        codes = extract_pickup_codes(event.description)
        if codes:
            return codes[0]
    return None


def _iso_or_none(value: datetime | None) -> str | None:
    return iso(value) if value else None
