"""Notifications: rules, once-only recording in the store, quiet hours, channels.

Channels live in ``notify_channels``; this module decides what to send and when. One run
(``after_sync``, called by ``sync`` and ``watch`` while they hold the sync lock):

1. every status change in ``notify.on`` becomes ONE row in ``notifications``; the row's
   ``(parcel_id, dedupe_key)`` is UNIQUE, so a restart, a re-run or a second process can
   never record the same change twice. Time-based conditions (``overdue``: a paid order past
   its promised shipping time, ``stale``) are recorded the same way, once per occurrence;
2. each new notification gets one ``deliveries`` row per channel enabled at that moment;
3. pending deliveries are sent unless it is quiet time (``notify.quiet_hours``): then they
   simply stay pending and go out on the first run after the quiet hours end.
4. a channel people read (desktop, Apprise) with more than ``notify.burst`` pending in one
   run gets one summary that carries all of them (see ``READ_BY_PEOPLE``).

A channel that fails keeps its delivery pending, is logged, is skipped for the rest of the
run (a dead webhook must not stall cron for minutes) and is retried on every later run while
the notification is younger than ``notify.retry_hours`` (by age, not by attempts: ``watch``
runs far more often than cron; older news is dropped, also for a channel that was switched
off and on again). Nothing here ever fails the sync. Delivery is at-least-once (a crash
between sending and marking re-sends once), so payloads carry ``notification_id`` for
receivers that de-duplicate.

Keys: ``notify.on``, ``notify.quiet_hours`` ("22:00-08:00"), ``notify.timezone`` (IANA name,
default: the system's), ``notify.backlog_hours`` (24), ``notify.retry_hours`` (24),
``notify.burst`` (5), ``notify.desktop.enabled``, ``notify.webhook.url`` / ``.secret``
(secret store) / ``.timeout``, ``notify.command.run`` / ``.timeout``, ``notify.apprise.urls``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .config import Config

# notify.on's choices live with the key's check, below config in the layers.
from .config_keys import CONDITIONS as CONDITIONS
from .config_keys import ON_CHOICES as ON_CHOICES
from .config_keys import parse_quiet_hours as parse_quiet_hours
from .models import Status, utcnow
from .notify_channels import (
    SIGNATURE_HEADER,
    AppriseChannel,
    Channel,
    ChannelError,
    CommandChannel,
    DesktopChannel,
    Message,
    Unavailable,
    WebhookChannel,
    encode_body,
    send_one,
    sign,
)
from .store import Change, Store, iso
from .views import CONDITION_LABELS

if TYPE_CHECKING:
    from .sync import SyncSummary

log = logging.getLogger("parcelctl.notify")

DEFAULT_ON = ("out_for_delivery", "ready_for_pickup", "delivered", "exception", "overdue")
#: Channels a person reads one message at a time. Past ``notify.burst`` pending messages in
#: one run (a shop's first import, a morning after quiet hours) they get one summary instead
#: of a stream of pop-ups; webhook and command feed programs and keep one call per change.
READ_BY_PEOPLE = frozenset({"desktop", "apprise"})

__all__ = ["SIGNATURE_HEADER", "AppriseChannel", "Channel", "ChannelError", "CommandChannel",
           "DeliveryReport", "DesktopChannel", "Message", "Notifier", "Settings",
           "WebhookChannel", "after_sync", "build_channels", "encode_body", "parse_quiet_hours",
           "send_one", "sign"]


# -- settings -------------------------------------------------------------------------------

@dataclass(slots=True)
class Settings:
    on: frozenset[str] = frozenset(DEFAULT_ON)
    quiet: tuple[time, time] | None = None
    tz: tzinfo | None = None  # None = the system's local zone
    backlog: timedelta = timedelta(hours=24)
    retry: timedelta = timedelta(hours=24)
    stale_days: float = 7.0
    burst: int = 5  # 0: never summarise
    lang: str = "zh"
    channels: dict[str, Channel] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        """Bad values are collected in ``problems`` (logged) and fall back to defaults."""
        s = cls(lang="en" if config.get("display.language") == "en" else "zh")
        on = config.get("notify.on")
        if isinstance(on, str):
            on = [part.strip() for part in on.split(",") if part.strip()]
        if isinstance(on, list):
            s.problems += [f"notify.on: unknown '{x}'" for x in on if x not in ON_CHOICES]
            s.on = frozenset(str(x) for x in on if x in ON_CHOICES)
        quiet = config.get("notify.quiet_hours")
        if quiet:
            try:
                s.quiet = parse_quiet_hours(str(quiet))
            except ValueError as exc:
                s.problems.append(f"notify.quiet_hours: {exc}")
        zone = config.get("notify.timezone")
        if zone:
            try:
                from zoneinfo import ZoneInfo

                s.tz = ZoneInfo(str(zone))
            except (ValueError, KeyError, OSError):
                s.problems.append(f"notify.timezone: unknown zone '{zone}'")
        s.backlog = timedelta(hours=_number(config.get("notify.backlog_hours"), 24.0))
        s.retry = timedelta(hours=_number(config.get("notify.retry_hours"), 24.0))
        s.stale_days = _number(config.get("polling.stale_days"), 7.0)
        s.burst = int(_number(config.get("notify.burst"), 5.0))
        s.channels = build_channels(config, s.problems)
        return s

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz) if self.tz else moment.astimezone()

    def in_quiet_hours(self, moment: datetime) -> bool:
        if self.quiet is None:
            return False
        start, end = self.quiet
        now = self.local(moment).time()
        return start <= now < end if start < end else (now >= start or now < end)


def build_channels(config: Config, problems: list[str]) -> dict[str, Channel]:
    from .http import register_secret

    channels: dict[str, Channel] = {}
    if config.get("notify.desktop.enabled") is True:
        channels["desktop"] = DesktopChannel()
    try:  # the URL is a secret too (chat hooks carry their token in it)
        url = config.get("notify.webhook.url")
    except Exception as exc:  # e.g. a keyring cron cannot unlock: retry next run
        url = None
        if config.get_in_file("notify.webhook.url") is not None or _named_secret(config):
            channels["webhook"] = Unavailable("webhook", "cannot read notify.webhook.url "
                                              f"from the secret store ({exc})")
    if isinstance(url, str) and url:
        if urlsplit(url).scheme in ("http", "https"):
            path = urlsplit(url).path
            if len(path) >= 12:
                register_secret(path)  # chat hooks carry their token in the path
            try:
                secret = config.get_secret("notify.webhook.secret")
            except Exception as exc:  # e.g. a keyring cron cannot unlock: retry next run
                channels["webhook"] = Unavailable("webhook", "cannot read notify.webhook."
                                                  f"secret from the secret store ({exc})")
            else:
                channels["webhook"] = WebhookChannel(
                    url, secret, _number(config.get("notify.webhook.timeout"), 10.0))
        else:
            problems.append("notify.webhook.url must start with http:// or https://")
    command = config.get("notify.command.run")
    if isinstance(command, str) and command.strip():
        channels["command"] = CommandChannel(command,
                                             _number(config.get("notify.command.timeout"), 30.0))
    urls = config.get("notify.apprise.urls")
    if isinstance(urls, str):
        urls = [urls]
    if isinstance(urls, list) and urls:
        for value in urls:
            register_secret(str(value))  # apprise URLs embed tokens and passwords
        channels["apprise"] = AppriseChannel([str(u) for u in urls])
    return channels


def _named_secret(config: Config) -> bool:
    """Whether the secret store lists the webhook URL (its names are readable even when a
    locked keyring keeps the values)."""
    try:
        return "notify.webhook.url" in config.secrets.names()
    except Exception:
        return True  # cannot tell: keep deliveries pending rather than drop them


def _number(value: Any, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return default


# -- recording and delivery -----------------------------------------------------------------

@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # channel -> last error this run
    deferred: int = 0  # pending because of quiet hours


class Notifier:
    def __init__(self, settings: Settings, store: Store, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        # Changes of newly imported parcels found to be history, over every ``record`` call:
        # logged once per run by ``after_sync``, not once per page of a shop's first import.
        self.old_news = 0

    def record(self, changes: Iterable[Change], *, first_seen: set[int] | None = None
               ) -> list[int]:
        """Status changes -> notification ids newly recorded (already known ones are skipped).

        ``first_seen``: parcels that appeared in this run (first import of a shop). Their
        changes older than ``notify.backlog_hours`` are history, not news: not notified.
        """
        created: list[tuple[int, str, str]] = []  # (notification id, number, kind)
        old_news = 0
        wanted = [c for c in changes
                  if c.status_changed and c.new_status in self.settings.on]
        cutoff = self._backlog_cutoff()
        if first_seen and cutoff:
            # A shop's first import brings thousands of changes that are history: tell them
            # apart with one narrow query before reading any whole row.
            # An import says when each parcel it created last changed; others are read.
            times = {c.parcel_id: c.changed_at for c in wanted
                     if c.parcel_id in first_seen and c.changed_at is not None}
            times |= self.store.change_times({c.parcel_id for c in wanted
                                              if c.parcel_id in first_seen
                                              and c.parcel_id not in times})
            news = [c for c in wanted if c.parcel_id not in times
                    or not is_backlog(times[c.parcel_id], cutoff)]
            old_news, wanted = len(wanted) - len(news), news
        rows = self._rows({c.parcel_id for c in wanted})  # one query, not one per change
        with self._batch():
            for change in wanted:
                row = rows.get(change.parcel_id)
                if row is None:
                    continue
                key = f"{change.new_status}@{row['last_event_utc'] or ''}"
                nid = self._insert(row, change.new_status, key, change.old_status)
                if nid is not None:
                    created.append((nid, str(row["number"]), change.new_status))
        self.old_news += old_news
        return _log_recorded(created)

    def _rows(self, ids: set[int], columns: str = "*") -> dict[int, sqlite3.Row]:
        """id -> row (id is the first column either way)."""
        select = "*" if columns == "*" else f"id, {columns}"
        return {int(row[0]): row for row in self.store.select_in(
            f"SELECT {select} FROM parcels WHERE id IN ({{}})", ids)}  # noqa: S608

    def record_conditions(self) -> list[int]:
        """Overdue orders and stale parcels, once per occurrence."""
        now = self.clock()
        created: list[tuple[int, str, str]] = []  # (notification id, number, kind)
        queries: list[tuple[str, str, Any]] = []
        if "overdue" in self.settings.on:
            queries.append(("overdue", "SELECT * FROM parcels WHERE kind='order' AND archived=0"
                            " AND status='awaiting_shipment' AND promised_ship_at < ?", iso(now)))
        if "stale" in self.settings.on:
            stale = iso(now - timedelta(days=self.settings.stale_days))
            queries.append(("stale", "SELECT * FROM parcels WHERE active=1 AND kind='waybill'"
                            " AND status != 'returned' AND last_event_utc < ?", stale))
        with self._batch():
            for kind, sql, arg in queries:
                for row in self.store.db.execute(sql, (arg,)).fetchall():
                    marker = (row["promised_ship_at"] if kind == "overdue"
                              else row["last_event_utc"])
                    nid = self._insert(row, kind, f"{kind}@{marker}", str(row["status"]))
                    if nid is not None:
                        created.append((nid, str(row["number"]), kind))
        return _log_recorded(created)

    def record_pickup(self, row: sqlite3.Row, codes: list[str], old_status: str) -> int | None:
        """A pickup notice from a text (``parcelctl import``): once per new code, whatever
        the status was before (a tracker may have said "ready" without the code)."""
        if Status.READY_FOR_PICKUP.value not in self.settings.on:
            return None
        nid = self._insert(row, Status.READY_FOR_PICKUP.value, "pickup@" + ",".join(codes),
                           old_status)
        return _log_recorded([(nid, str(row["number"]), "pickup")])[0] if nid else None

    def _batch(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One transaction for a run's notifications, or the caller's own one. A shop's first
        import can bring a thousand overdue orders: a commit each cost 0.24 s against 0.15."""
        if self.store.db.in_transaction:
            return contextlib.nullcontext(self.store.db)
        return self.store.transaction()

    def _backlog_cutoff(self) -> str | None:
        """Changes of newly imported parcels older than this (UTC ISO text) are history."""
        if not self.settings.backlog:
            return None
        return iso(self.clock() - self.settings.backlog)

    def _insert(self, row: sqlite3.Row, kind: str, key: str, old_status: str) -> int | None:
        payload = self.payload(row, kind, old_status)
        # Inside a sync's own transaction (see ``Recorder``) the notification commits or rolls
        # back together with the change it announces: a crash cannot lose one.
        with self._batch() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO notifications (parcel_id, kind, dedupe_key, payload,"
                " created_at) VALUES (?,?,?,?,?)",
                (row["id"], kind, key, json.dumps(payload, ensure_ascii=False),
                 iso(self.clock())))
            if cur.rowcount != 1:
                return None
            nid = int(cur.lastrowid or 0)
            db.executemany("INSERT INTO deliveries (notification_id, channel) VALUES (?,?)",
                           [(nid, name) for name in self.settings.channels])
        return nid

    def payload(self, row: sqlite3.Row, kind: str, old_status: str) -> dict[str, Any]:
        from .views import parcel_json, sources_for

        lang = self.settings.lang
        data = parcel_json(row, sources_for(self.store.db, [int(row["id"])]).get(
            int(row["id"]), []), lang)
        # "kind" stays the parcel's own (waybill/order): "type" says what happened.
        data.update(type="status_change" if kind not in CONDITIONS else kind,
                    number=row["number"], old_status=old_status or None,
                    new_status=row["status"], pickup_code=row["pickup_code"],
                    station=row["station"], deadline=row["pickup_deadline"])
        title, body = self.describe(row, kind)
        data.update(message=title, text=body)
        return data

    def describe(self, row: sqlite3.Row, kind: str) -> tuple[str, str]:
        from .views import status_label

        zh = self.settings.lang == "zh"
        number = str(row["number"])
        item = " ".join(str(row["label"] or row["title"] or row["shop"] or "").split())[:60]
        lines = [item] if item else []
        if kind == "overdue":
            title = (f"{CONDITION_LABELS[kind][0]} · {number}" if zh
                     else f"Overdue: {number} not shipped")
            promised = self._when(row["promised_ship_at"])
            lines.append(f"承诺发货 {promised}" if zh else f"promised to ship by {promised}")
        elif kind == "stale":
            title = f"{CONDITION_LABELS[kind][0]} · {number}" if zh else f"Stuck: {number}"
            since = self._when(row["last_event_utc"])
            lines.append(f"最后更新 {since}" if zh else f"no scan since {since}")
        else:
            title = f"{status_label(kind, self.settings.lang)} · {number}"
            if kind == Status.READY_FOR_PICKUP and row["pickup_code"]:
                lines.append(f"取件码 {row['pickup_code']}" if zh
                             else f"pickup code {row['pickup_code']}")
            if kind == Status.READY_FOR_PICKUP and row["station"]:
                lines.append(str(row["station"]))
            if kind == Status.READY_FOR_PICKUP and row["pickup_deadline"]:
                due = self._when(row["pickup_deadline"])
                lines.append(f"请于 {due} 前取件" if zh else f"collect by {due}")
        if row["last_event_desc"] and kind != "overdue":
            lines.append(" ".join(str(row["last_event_desc"]).split())[:200])
        return title, "\n".join(lines)

    def _label(self, kind: str) -> str:
        """A status's or a condition's name in the configured language."""
        from .views import status_label

        names = CONDITION_LABELS.get(kind)
        if names is None:
            return status_label(kind, self.settings.lang)
        return names[0] if self.settings.lang == "zh" else names[1]

    def _when(self, value: str | None) -> str:
        if not value:
            return "?"
        return self.settings.local(datetime.fromisoformat(value)).strftime("%m-%d %H:%M")

    def deliver(self) -> DeliveryReport:
        """Send what is pending, unless it is quiet time. Never raises for a channel."""
        report = DeliveryReport()
        pending = self.store.db.execute(
            "SELECT d.notification_id, d.channel, d.attempts, n.payload FROM deliveries d"
            " JOIN notifications n ON n.id = d.notification_id"
            " WHERE d.delivered_at IS NULL AND n.created_at >= ? ORDER BY n.id, d.channel",
            (iso(self.clock() - self.settings.retry),)).fetchall()
        if pending and self.settings.in_quiet_hours(self.clock()):
            report.deferred = len(pending)
            return report
        burst = self.settings.burst
        crowded = {name for name, n in Counter(str(r["channel"]) for r in pending).items()
                   if name in READ_BY_PEOPLE and burst and n > burst}
        summaries: dict[str, list[sqlite3.Row]] = {name: [] for name in crowded}
        for row in pending:
            name = str(row["channel"])
            channel = self.settings.channels.get(name)
            if channel is None or name in report.failed:
                continue  # disabled since it was recorded, or already failed in this run
            if name in crowded:
                summaries[name].append(row)
                continue
            payload = json.loads(row["payload"]) | {"notification_id": row["notification_id"]}
            message = Message(str(payload.get("message", "")), str(payload.get("text", "")),
                              payload)
            self._mark(report, name, [row], send_one(channel, message))
        for name, rows in summaries.items():
            if rows:
                message = self.summary([json.loads(r["payload"])
                                        | {"notification_id": r["notification_id"]}
                                        for r in rows])
                self._mark(report, name, rows, send_one(self.settings.channels[name], message))
        return report

    def _mark(self, report: DeliveryReport, name: str, rows: list[sqlite3.Row],
              error: str | None) -> None:
        """Record one send that carried ``rows`` (one notification, or a summary of many)."""
        values: tuple[Any, ...]
        if error is None:
            sql = "delivered_at = ?, last_error = NULL"
            values = (iso(self.clock()),)
            report.delivered += len(rows)
        else:
            report.failed[name] = error
            sql = "last_error = ?"
            values = (error,)
        self.store.db.executemany(
            f"UPDATE deliveries SET {sql}, attempts = attempts + 1"  # noqa: S608
            " WHERE notification_id = ? AND channel = ?",
            [(*values, row["notification_id"], name) for row in rows])

    def summary(self, payloads: list[dict[str, Any]]) -> Message:
        """One message for many: how many of each kind, the first few, and where to look."""
        zh = self.settings.lang == "zh"
        kinds = Counter(str(p.get("type")) if p.get("type") in CONDITIONS
                        else str(p.get("new_status")) for p in payloads)
        title = f"{len(payloads)} 条包裹动态" if zh else f"{len(payloads)} parcel updates"
        lines = [" · ".join(f"{self._label(kind)} {n}" for kind, n in kinds.most_common())]
        lines += [str(p.get("message", "")) for p in payloads[:3]]
        if len(payloads) > 3:
            lines.append(f"… 另有 {len(payloads) - 3} 条" if zh
                         else f"… and {len(payloads) - 3} more")
        lines.append("parcelctl list --attention")
        body = "\n".join(lines)
        return Message(title, body, {
            "type": "summary", "count": len(payloads), "kinds": dict(kinds),
            "notification_ids": [p.get("notification_id") for p in payloads],
            "message": title, "text": body})


class Recorder:
    """A ``Syncer`` hook that records notifications inside each unit's transaction.

    ``ok`` stays True while every call succeeded: then :func:`after_sync` need not record
    the run's changes a second time. Parcels an account import created earlier in the run
    stay "first seen" for the units after it: the first tracking answer for a shop's
    imported waybill, delivered a week ago, is its history too, not news.
    """

    def __init__(self, config: Config, store: Store, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.notifier = Notifier(Settings.from_config(config), store, clock=clock)
        self.ok = True
        self.created: set[int] = set()  # parcels this run created

    def __call__(self, changes: list[Change]) -> None:
        self.created |= {c.parcel_id for c in changes if c.first_import}
        try:
            self.notifier.record(changes, first_seen=self.created)
        except Exception:  # a notification problem must never cost the sync its data
            self.ok = False
            log.exception("recording notifications failed")


#: Up to this many notifications recorded by one call are logged one line each; more are
#: one line. A shop's first import brought 1,074 overdue orders, and their lines through the
#: redacting file handler were half of ``after_sync``'s 0.3 s (benchmarks).
LOG_EACH = 20


def _log_recorded(recorded: list[tuple[int, str, str]]) -> list[int]:
    """(notification id, number, kind) of what one call recorded, to the log; the ids."""
    ids = [nid for nid, _, _ in recorded]
    if len(recorded) <= LOG_EACH:
        for nid, number, kind in recorded:
            log.info("notification %d: %s %s", nid, number, kind)
    else:
        kinds = Counter(kind for _, _, kind in recorded)
        log.info("%d notifications recorded (%s), ids %d to %d", len(recorded),
                 ", ".join(f"{count} {kind}" for kind, count in kinds.most_common()),
                 min(ids), max(ids))
    return ids


def is_backlog(when: str, cutoff: str) -> bool:
    # ``when``: the last scan, or without one (an imported order: platforms without
    # traces) the platform's own time of the order's last change, which the store gives a
    # new parcel. Both are UTC ISO-8601 text of one format: they compare like the instants.
    return bool(when) and when < cutoff


def after_sync(config: Config, store: Store, summary: SyncSummary, *,
               clock: Callable[[], datetime] = utcnow, recorded: bool = False,
               old_news: int = 0) -> None:
    """Record and deliver notifications for one sync run. Logs, never raises.

    ``recorded``: a :class:`Recorder` hook already recorded the run's changes (in their own
    transactions); recording them again would only find them known. ``old_news``: how many
    of them it found to be history (:attr:`Notifier.old_news`), for the run's one log line.
    """
    try:
        settings = Settings.from_config(config)
        for problem in settings.problems:
            log.warning("config: %s", problem)
        notifier = Notifier(settings, store, clock=clock)
        if not recorded:
            changes = list(summary.changes)
            notifier.record(changes,
                            first_seen={c.parcel_id for c in changes if c.first_import})
        old_news += notifier.old_news
        if old_news:  # one line: a shop's first import may bring thousands
            log.info("%d changes of newly imported parcels are old news, not notified",
                     old_news)
        notifier.record_conditions()
        notifier.deliver()
    except Exception:
        log.exception("notifications failed (the sync itself was saved)")
