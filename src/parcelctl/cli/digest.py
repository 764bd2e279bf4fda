"""parcelctl digest — what changed lately and what needs you; printed, or sent.

Changes come from the summaries every ``sync`` and ``watch`` run stores in ``sync_runs``
(every status change, not only the notified ones) plus the ``overdue``/``stale``
notifications recorded in that window; the attention section is ``list --attention``
grouped by reason. ``--send`` delivers it through every configured notification channel
right away (an explicit request, so quiet hours do not apply) and stays silent on success
when not on a terminal, so a daily cron line only mails problems. Exit codes: 0; 1 when
every channel failed; 3 when some did.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import sqlite3

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``1d``, ``1h30m``, ``2w`` -> timedelta (ValueError otherwise)."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"'{text}' is not a duration such as 30m, 12h, 1d or 1h30m")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(compact))
    if seconds <= 0:
        raise ValueError(f"'{text}' is not a positive duration")
    return timedelta(seconds=seconds)


def changes_since(db: sqlite3.Connection, since: datetime,
                  backlog: timedelta | None = None) -> tuple[list[dict[str, Any]], int]:
    """(status changes and overdue/stale conditions since ``since``, oldest first; how many
    changes were a shop's history).

    History, by the rule of notifications and of ``sync``'s lines: a change of a parcel a
    run created (an import, and the first tracking answer in the same run) whose newest
    change, as stored, was older than ``backlog`` when the run started. The day after a
    shop was linked, the digest listed all 3,000 changes of its 2,000 orders.
    """
    from ..notify import is_backlog
    from ..store import CHANGED_AT, iso

    parcels: dict[Any, sqlite3.Row | None] = {}

    def parcel(number: Any) -> sqlite3.Row | None:
        """A number's parcel (the first, if carriers share it), read once per digest."""
        if number not in parcels:
            parcels[number] = db.execute(
                f"SELECT label, title, shop, {CHANGED_AT} AS changed_at FROM parcels"  # noqa: S608
                " WHERE number = ? ORDER BY id LIMIT 1", (number,)).fetchone()
        return parcels[number]

    found: list[dict[str, Any]] = []
    history = 0
    for run in db.execute("SELECT started_at, summary FROM sync_runs WHERE started_at >= ?"
                          " AND summary IS NOT NULL ORDER BY id", (iso(since),)):
        try:
            summary = json.loads(run["summary"])
        except ValueError:
            continue
        changes = [c for c in summary.get("changes") or [] if isinstance(c, dict)]
        # Runs recorded before "first_import" existed: any parcel they created.
        created = {c.get("tracking_number") for c in changes
                   if c.get("first_import", not c.get("old_status"))}
        cutoff = _started_before(run["started_at"], backlog)
        for change in changes:
            if change.get("old_status") == change.get("status"):
                continue
            number = change.get("tracking_number")
            if cutoff and number in created:
                row = parcel(number)
                if row is not None and is_backlog(str(row["changed_at"] or ""), cutoff):
                    history += 1
                    continue
            found.append({"time": run["started_at"], "kind": "status_change",
                          "number": number, "carrier": change.get("carrier") or None,
                          "old_status": change.get("old_status") or None,
                          "status": change.get("status"),
                          "pickup_code": change.get("pickup_code")})
    for note in db.execute(
            "SELECT n.kind, n.created_at, p.number, p.carrier, p.status, p.pickup_code"
            " FROM notifications n JOIN parcels p ON p.id = n.parcel_id"
            " WHERE n.kind IN ('overdue', 'stale') AND n.created_at >= ?", (iso(since),)):
        found.append({"time": note["created_at"], "kind": note["kind"], "number": note["number"],
                      "carrier": note["carrier"] or None, "old_status": None,
                      "status": note["status"], "pickup_code": note["pickup_code"]})
    for item in found:
        row = parcel(item["number"])
        item["title"] = (row["label"] or row["title"] or row["shop"]) if row else ""
    found.sort(key=lambda item: str(item["time"]))
    return found, history


def _started_before(started_at: Any, backlog: timedelta | None) -> str | None:
    """``started_at`` less ``backlog``, as stored text (UTC ISO); None: no history rule."""
    from ..store import iso

    if not backlog:
        return None
    try:
        return iso(datetime.fromisoformat(str(started_at)) - backlog)
    except ValueError:
        return None


def attention_items(db: sqlite3.Connection, now: datetime, stale_days: float
                    ) -> list[dict[str, Any]]:
    """``list --attention`` with the reason for each: overdue, exception, pickup, stuck, error."""
    from .. import views
    from ..store import iso

    rows, _ = views.list_parcels(db, attention=True, limit=None, stale_days=stale_days, now=now)
    stale_before = iso(now - timedelta(days=stale_days))
    items: list[dict[str, Any]] = []
    for row in rows:
        since = row["last_event_utc"]
        if row["kind"] == "order" and row["status"] == "awaiting_shipment" \
                and row["promised_ship_at"] and row["promised_ship_at"] < iso(now):
            reason, since = "overdue", row["promised_ship_at"]
        elif row["status"] == "exception":
            reason = "exception"
        elif row["status"] == "ready_for_pickup":
            reason = "pickup"
        elif since and since < stale_before and row["kind"] == "waybill":
            reason = "stuck"
        else:
            reason = "error"
        items.append({"reason": reason, "number": row["number"], "carrier": row["carrier"] or None,
                      "status": row["status"], "title": row["label"] or row["title"] or row["shop"],
                      "pickup_code": row["pickup_code"], "since": since,
                      "waiting": _span(since, now) if since else None,
                      "detail": row["last_error"] if reason == "error"
                      else row["last_event_desc"]})
    order = ("overdue", "exception", "pickup", "stuck", "error")
    items.sort(key=lambda item: order.index(item["reason"]))
    return items


def _reasons() -> dict[str, tuple[str, str]]:
    """reason -> (Chinese, English); overdue and stuck named as notifications name them."""
    from ..views import CONDITION_LABELS

    return {"overdue": CONDITION_LABELS["overdue"], "exception": ("异常", "exception"),
            "pickup": ("待取件", "pickup"), "stuck": CONDITION_LABELS["stale"],
            "error": ("出错", "error")}


def render_lines(digest: dict[str, Any], lang: str) -> list[str]:
    """The digest as text, all in one language (the mail a cron line sends, the screen)."""
    from ..views import status_label
    from .output import clip

    reasons = _reasons()

    zh = lang == "zh"
    pickup = "取件码" if zh else "pickup code"
    lines = [f"{'变化' if zh else 'Changes'} ({len(digest['changes'])})"]
    if digest.get("history"):
        what = ("个新导入包裹的旧变化是历史，未列出" if zh
                else "changes of newly imported parcels are history, not listed")
        lines.append(f"  {digest['history']} {what}")
    for change in digest["changes"]:
        if change["kind"] == "status_change":
            old = (status_label(change["old_status"], lang) if change["old_status"]
                   else ("新" if zh else "new"))
            what = f"{old} -> {status_label(change['status'], lang)}"
        else:
            what = reasons["overdue" if change["kind"] == "overdue" else "stuck"][0 if zh else 1]
        if change["status"] == "ready_for_pickup" and change["pickup_code"]:
            what += (f" {pickup} {change['pickup_code']}" if zh
                     else f" (code {change['pickup_code']})")
        lines.append(f"  {change['number']}  {what}  {clip(change['title'], 30)}".rstrip())
    lines.append(f"{'需要处理' if zh else 'Needs attention'} ({len(digest['attention'])})")
    for item in digest["attention"]:
        text = f"  {reasons[item['reason']][0 if zh else 1]}  {item['number']}"
        if item["reason"] == "pickup" and item["pickup_code"]:
            text += f"  {pickup} {item['pickup_code']}"
        if item.get("since") and digest.get("until"):
            waiting = span_words(item["since"], digest["until"], lang)
            if waiting:
                text += f"  {'已等' if zh else 'for'} {waiting}"
        detail = item["title"] or item["detail"]
        lines.append(f"{text}  {clip(detail, 40)}".rstrip())
    return lines


#: The fields of a digest row in TSV (docs/output.md).
TSV_FIELDS = ("section", "what", "number", "old_status", "status", "pickup_code", "time",
              "text")


def tsv_rows(digest: dict[str, Any]) -> list[list[str]]:
    """The digest as rows of :data:`TSV_FIELDS` (what a pipe gets)."""
    from .output import field as flat

    rows = [["change", change["kind"], flat(change["number"]), flat(change["old_status"]),
             flat(change["status"]), flat(change["pickup_code"]), flat(change["time"]),
             flat(change["title"])] for change in digest["changes"]]
    rows += [["attention", item["reason"], flat(item["number"]), "", flat(item["status"]),
              flat(item["pickup_code"]), flat(item["since"]),
              flat(item["title"] or item["detail"])] for item in digest["attention"]]
    return rows


def _span(since: str, now: datetime) -> str:
    try:
        seconds = max(0.0, (now - datetime.fromisoformat(since)).total_seconds())
    except ValueError:
        return ""
    days, rest = divmod(int(seconds), 86400)
    return f"{days}d {rest // 3600}h" if days else f"{rest // 3600}h {rest % 3600 // 60}m"


def span_words(since: str, until: str, lang: str) -> str:
    """How long from ``since`` to ``until``: ``27天12小时`` or ``27d 12h``."""
    try:
        seconds = max(0.0, (datetime.fromisoformat(until)
                            - datetime.fromisoformat(since)).total_seconds())
    except ValueError:
        return ""
    days, rest = divmod(int(seconds), 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if lang == "zh":
        return f"{days}天{hours}小时" if days else f"{hours}小时{minutes}分钟"
    return f"{days}d {hours}h" if days else f"{hours}h {minutes}m"


def main(
    since: str = typer.Option("1d", "--since", help="Look back this far: 30m, 12h, 1d, 1w."),
    send: bool = typer.Option(False, "--send", help="Deliver through the notification "
                              "channels (notify.*) instead of only printing."),
    json_out: bool = typer.Option(False, "--json", help="Print the digest as JSON (see "
                                  "docs/output.md); the same as --format json."),
    fmt: str | None = typer.Option(None, "--format", help="text, tsv or json (default: text "
                                   "on a terminal, tsv when piped)."),
) -> None:
    """Summary of recent changes and of what needs attention."""
    from ..errors import ExitCode, UsageError
    from ..notify import Settings
    from ..store import iso
    from .common import language, load_config, open_store, store_exists
    from .output import choose_format, error, info, info_lines, is_terminal, print_json, write_tsv
    from .output import now as output_now

    chosen = choose_format(fmt, json_out, ("text", "tsv", "json"))
    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    config = load_config()
    lang = language(config)
    now = output_now()
    start = now - min(window, timedelta(days=3660))
    settings = Settings.from_config(config)
    digest: dict[str, Any] = {"type": "digest", "since": iso(start), "until": iso(now),
                              "changes": [], "history": 0, "attention": []}
    if store_exists(config):
        with open_store(config) as store:
            stale_days = config.number("polling.stale_days", 7.0) or 7.0
            digest["changes"], digest["history"] = changes_since(
                store.db, start, settings.backlog)
            digest["attention"] = attention_items(store.db, now, stale_days)
    lines = render_lines(digest, lang)
    if not send:
        if chosen == "json":
            print_json(digest)
        elif chosen == "tsv":
            write_tsv(tsv_rows(digest))
        else:
            info_lines([(line, "bold" if not line.startswith(" ") else "")
                        for line in lines])
        return
    from ..notify import Message, send_one

    if not settings.channels:
        raise UsageError("no notification channel is configured",
                         hint="e.g. parcelctl config set notify.webhook.url https://…")
    if not digest["changes"] and not digest["attention"]:
        if json_out:
            print_json(digest | {"sent": {}})
        elif is_terminal():
            info("nothing to report — not sent")
        return
    title = (f"parcelctl: {len(digest['changes'])} 个变化, {len(digest['attention'])} 件需要处理"
             if lang == "zh" else f"parcelctl: {len(digest['changes'])} changes, "
             f"{len(digest['attention'])} need attention")
    message = Message(title, "\n".join(lines), digest | {"message": title,
                                                          "text": "\n".join(lines)})
    results = {name: send_one(channel, message) for name, channel in settings.channels.items()}
    failed = {name: err for name, err in results.items() if err}
    if json_out:
        print_json(digest | {"sent": {name: err or "ok" for name, err in results.items()}})
    for name, err in failed.items():
        error(f"{name}: {err}")
    if not json_out and is_terminal() and len(failed) < len(results):
        info(f"digest sent via {', '.join(n for n in results if n not in failed)}")
    if failed:
        raise typer.Exit(int(ExitCode.ERROR if len(failed) == len(results)
                             else ExitCode.PARTIAL))
