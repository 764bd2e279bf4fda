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

import re
from datetime import datetime, timedelta
from typing import Any

import typer

# The data is gathered by the application layer; here for the callers that know it so.
from ..app.digest import attention_items as attention_items
from ..app.digest import changes_since as changes_since

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
    from ..app.digest import gather
    from ..errors import ExitCode, UsageError
    from ..notify import Settings
    from .common import language, load_config
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
    digest = gather(config, start, now)
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

    settings = Settings.from_config(config)
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
