"""Notification channels: desktop (notify-send), webhook (signed JSON POST), command (JSON
on stdin) and apprise (optional extra). Each ``send`` raises ``ChannelError`` with one line
that never contains a URL path or a secret; ``notify`` decides what to send and when.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

log = logging.getLogger("parcelctl.notify")

SIGNATURE_HEADER = "X-Parcelctl-Signature"


class ChannelError(Exception):
    """One line saying why a delivery failed (never contains a URL path or a secret)."""


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    payload: dict[str, Any]


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact, sorted, UTF-8."""
    from .textsafe import json_text

    return json_text(json.dumps(payload, ensure_ascii=False, sort_keys=True,
                                separators=(",", ":"))).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """``X-Parcelctl-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def desktop_text(message: Message) -> tuple[str, str]:
    """(summary, body) for ``notify-send``, given after ``--`` so that a text starting with
    ``-`` is never an option. The body is markup to notification servers (``<b>``,
    ``<a href>``, ``<img>``): escaped, so a carrier's text shows as written. Both are
    neutralised like every sink (``textsafe``)."""
    from html import escape

    from .textsafe import terminal

    return terminal(message.title), escape(terminal(message.body), quote=False)


class DesktopChannel:
    name = "desktop"

    def __init__(self, binary: str | None = None, timeout: float = 10.0) -> None:
        self.binary = binary
        self.timeout = timeout

    def send(self, message: Message) -> None:
        binary = self.binary or shutil.which("notify-send")
        if not binary:
            raise ChannelError("notify-send not found (install libnotify) — or run: "
                               "parcelctl config set notify.desktop.enabled false")
        _run([binary, "--app-name=parcelctl", "--", *desktop_text(message)], None,
             self.timeout, shell=False, env=None)


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout
        parts = urlsplit(url)
        self.where = f"{parts.scheme}://{parts.hostname}"  # the path may hold a token

    def send(self, message: Message) -> None:
        import httpx

        from . import __version__

        body = encode_body(message.payload)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": f"parcelctl/{__version__}",
                   "X-Parcelctl-Event": str(message.payload.get("type", ""))}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        from .http import post_within

        try:
            # ``timeout`` is the whole delivery's deadline, not a per-read one.
            status = post_within(self.url, content=body, headers=headers,
                                 deadline=self.timeout)
        except TimeoutError:
            raise ChannelError(f"webhook {self.where}: no complete answer within "
                               f"{self.timeout:g}s (notify.webhook.timeout)") from None
        except httpx.HTTPError as exc:
            raise ChannelError(f"webhook {self.where}: {type(exc).__name__}") from None
        if not 200 <= status < 300:
            raise ChannelError(f"webhook {self.where} answered HTTP {status}")


class CommandChannel:
    name = "command"

    def __init__(self, command: str, timeout: float = 30.0) -> None:
        self.command = command
        self.timeout = timeout

    def send(self, message: Message) -> None:
        payload = message.payload
        env = dict(os.environ)
        env.update(PARCELCTL_EVENT=str(payload.get("type", "")),
                   PARCELCTL_NUMBER=str(payload.get("number") or ""),
                   PARCELCTL_STATUS=str(payload.get("new_status") or ""),
                   PARCELCTL_TITLE=message.title)
        from .textsafe import json_text

        data = (json_text(json.dumps(payload, ensure_ascii=False)) + "\n").encode("utf-8")
        # The user's own command from their own config: a shell is the point.
        _run(self.command, data, self.timeout, shell=True, env=env)  # noqa: S604


class AppriseChannel:
    name = "apprise"

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls

    def send(self, message: Message) -> None:
        try:
            import apprise
        except ImportError:
            raise ChannelError("apprise is not installed — run: pip install "
                               "'parcelctl[apprise]' (or unset notify.apprise.urls)") from None
        sender = apprise.Apprise()
        for url in self.urls:
            if not sender.add(url):
                raise ChannelError("an apprise URL is not valid — check notify.apprise.urls")
        if not sender.notify(title=message.title, body=message.body):
            raise ChannelError("apprise could not deliver to every URL")


class Unavailable:
    """A configured channel that cannot work right now: its deliveries stay pending."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def send(self, message: Message) -> None:
        raise ChannelError(self.reason)


def _run(argv: str | list[str], data: bytes | None, timeout: float, *, shell: bool,
         env: dict[str, str] | None) -> None:
    """Run with a hard timeout that kills the whole process group (shell children too)."""
    try:
        proc = subprocess.Popen(argv, shell=shell,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
    except OSError as exc:
        raise ChannelError(f"cannot run the command: {exc.strerror}") from None
    try:
        _, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ChannelError(f"the command did not finish within {timeout:g}s") from None
    if proc.returncode:
        tail = " ".join(err.decode("utf-8", "replace").split())[-200:]
        raise ChannelError(f"the command exited with {proc.returncode}"
                           + (f": {tail}" if tail else ""))


def send_one(channel: Channel, message: Message) -> str | None:
    """Send through one channel; the error line (logged) or None."""
    from .http import redact

    try:
        channel.send(message)
    except ChannelError as exc:
        error = redact(str(exc))
    except Exception as exc:  # a channel bug must not stop the others
        error = redact(f"unexpected {type(exc).__name__}: {exc}")
    else:
        return None
    log.warning("notification channel %s failed: %s", channel.name, error)
    return error
