"""parcelctl import [FILE|-] — parcels and pickup codes from texts (SMS, notifications,
copied order details). See docs/import.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..texts.importer import Outcome, Report

#: Lines shown for each kind of outcome before "… and N more" (the JSON has them all).
SHOWN = 30


def main(
    source: str = typer.Argument("-", metavar="[FILE|-]",
                                 help="File of messages, or '-' (default) for standard input: "
                                 "plain text (messages separated by blank lines) or JSON "
                                 "lines."),
    field: str | None = typer.Option(None, "--field", help="JSON field holding the message "
                                     "(default: the first of text, content, body, message, "
                                     "msg); a.b looks into nested objects."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would happen; change "
                                 "nothing, notify nobody."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    serve: bool = typer.Option(False, "--serve", help="Instead of reading FILE, receive "
                               "messages over HTTP (POST /import with a bearer token): an "
                               "endpoint for SMS-forwarding apps. Each POST is one import."),
    host: str = typer.Option("127.0.0.1", "--host", help="With --serve: address to listen "
                             "on (a phone on your network needs e.g. 0.0.0.0)."),
    port: int = typer.Option(8977, "--port", min=0, max=65535, help="With --serve: port "
                             "(0 = any free port)."),
    new_token: bool = typer.Option(False, "--new-token", help="With --serve: replace the "
                                   "bearer token (the old one stops working)."),
) -> None:
    """Add waybills and pickup codes from texts; a code attaches to the parcel whose number
    ends with the text's tail, else it is kept as a pickup item until collected."""
    from ..notify import Notifier, Settings
    from ..services import tracking_provider_name
    from ..texts.importer import Importer
    from ..texts.inbox import read_messages
    from .common import load_config, open_store
    from .output import info, print_json

    if field is not None and not field.strip():
        from ..errors import UsageError

        raise UsageError("--field needs a name, e.g. --field content")
    if serve:
        _serve(source, field, dry_run, json_out, host, port, new_token)
        return
    messages = list(read_messages(_read(source), field=field))
    if not messages:
        if json_out:
            print_json({"dry_run": dry_run, "messages": 0, "counts": {}, "notified": 0,
                        "swept": {}, "results": []})
        else:
            info("no messages in the input")
        return
    config = load_config()
    with open_store(config) as store:
        notifier = None if dry_run else Notifier(Settings.from_config(config), store)
        report = Importer(store, tracking_provider=tracking_provider_name(config),
                          notifier=notifier).run(messages, dry_run=dry_run)
        if notifier is not None and any(o.notified for o in report.outcomes):
            notifier.deliver()
    if json_out:
        print_json(report.to_json())
    else:
        _print(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _serve(source: str, field: str | None, dry_run: bool, json_out: bool, host: str,
           port: int, new_token: bool) -> None:
    import contextlib
    import json
    import sys

    from ..errors import UsageError
    from ..notify import Notifier, Settings
    from ..redaction import register_secret
    from ..services import tracking_provider_name
    from ..texts import serve as inbox
    from ..texts.importer import Importer
    from ..texts.inbox import Message
    from .common import load_config, open_store
    from .output import info, warn

    if source != "-":
        raise UsageError("--serve receives messages over HTTP: give no FILE with it")
    config = load_config()
    token = None if new_token else config.secrets.get(inbox.TOKEN_KEY)
    created = token is None
    if token is None:
        token = inbox.new_token()
        config.secrets.set(inbox.TOKEN_KEY, token)
    register_secret(token)
    with open_store(config) as store:
        tracker = tracking_provider_name(config)

        def handle(messages: list[Message]) -> Report:
            notifier = None if dry_run else Notifier(Settings.from_config(config), store)
            report = Importer(store, tracking_provider=tracker, notifier=notifier).run(
                messages, dry_run=dry_run)
            if notifier is not None and any(o.notified for o in report.outcomes):
                notifier.deliver()
            return report

        try:
            server = inbox.Inbox((host, port), token, handle, field)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror})",
                             hint="choose another --port, or 0 for any free port") from None
        with server:
            shown = token if created else None
            if json_out:
                sys.stdout.write(json.dumps({"url": server.url, "token": shown}) + "\n")
            else:
                info(f"receiving texts on {server.url} (Ctrl-C to stop)")
                if shown:
                    # Shown once, so that it can be typed into the phone; it stays in the
                    # secret store (--new-token replaces it).
                    sys.stdout.write(f"header to send: Authorization: Bearer {shown}\n")
                else:
                    info("send the bearer token given when it was created "
                         "(--new-token makes a new one)")
            sys.stdout.flush()
            if host not in ("127.0.0.1", "::1", "localhost"):
                warn("plain HTTP beyond this machine: use it on a network you trust, or "
                     "behind a TLS proxy")
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()


def _read(source: str) -> str:
    """The whole input as text: UTF-8, or GB18030 (what Chinese Windows tools export)."""
    import sys
    from pathlib import Path

    from ..errors import UsageError
    from ..texts.inbox import MAX_INPUT

    if source == "-":
        if sys.stdin.isatty():
            from .output import info

            info("paste messages (a blank line between two), then Ctrl-D", style="dim")
        data = sys.stdin.buffer.read(MAX_INPUT + 1)
    else:
        path = Path(source)
        try:
            if path.stat().st_size > MAX_INPUT:
                raise UsageError(f"{source} is over {MAX_INPUT // (1024 * 1024)} MB",
                                 hint="split it and import the parts one after another")
            data = path.read_bytes()
        except FileNotFoundError:
            raise UsageError(f"no file {source!r}",
                             hint="give a file of messages, or '-' for standard input") from None
        except IsADirectoryError:
            raise UsageError(f"{source!r} is a directory, not a file of messages") from None
        except OSError as exc:
            raise UsageError(f"cannot read {source!r}: {exc.strerror}") from None
    if len(data) > MAX_INPUT:
        raise UsageError(f"the input is over {MAX_INPUT // (1024 * 1024)} MB",
                         hint="split it and import the parts one after another")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UsageError("the input is neither UTF-8 nor GB18030 text")


_VERBS = {"added": "added", "attached": "code attached", "pickup": "pickup item",
          "updated": "pickup item updated", "known": "already known",
          "duplicate": "imported before", "unrecognised": "nothing recognised",
          "refused": "refused"}


def _line(o: Outcome) -> str:
    parts = [f"#{o.index}", _VERBS.get(o.outcome, o.outcome)]
    if o.reference:
        parts.append(o.reference)
    if o.codes:
        parts.append("取件码 " + ", ".join(o.codes))
    if o.station:
        parts.append("@ " + o.station)
    if o.deadline:
        from .output import local_time

        parts.append("by " + local_time(o.deadline))
    if o.added and o.outcome != "added":
        parts.append("(added " + ", ".join(o.added) + ")")
    if o.note:
        parts.append(f"— {o.note}")
    if o.outcome in ("unrecognised", "duplicate"):
        parts.append(f"“{o.preview}”")
    return " ".join(parts)


def _print(report: Report) -> None:
    from .output import info, warn

    by_kind: dict[str, list[Outcome]] = {}
    for outcome in report.outcomes:
        by_kind.setdefault(outcome.outcome, []).append(outcome)
    for kind in ("attached", "pickup", "updated", "added", "known", "duplicate",
                 "unrecognised"):
        items = by_kind.get(kind, [])
        for outcome in items[:SHOWN]:
            info(_line(outcome), style="dim" if kind in ("known", "duplicate") else "")
        if len(items) > SHOWN:
            info(f"… and {len(items) - SHOWN} more {_VERBS[kind]} (--json lists them all)",
                 style="dim")
    for outcome in by_kind.get("refused", []):
        warn(f"#{outcome.index}: {outcome.note}")
    counts = report.counts
    summary = ", ".join(f"{counts[k]} {_VERBS[k]}" for k in _VERBS if counts[k])
    swept = ", ".join(f"{n} pickup items {k}" for k, n in report.swept.items() if n)
    notified = sum(o.notified for o in report.outcomes)
    tail = f"; {notified} notified" if notified else ""
    prefix = "dry run, nothing saved: " if report.dry_run else ""
    info(f"{prefix}{len(report.outcomes)} messages: {summary}{tail}"
         + (f" ({swept})" if swept else ""), style="bold")
