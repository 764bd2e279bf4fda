"""``parcelctl import --serve``: a tiny HTTP endpoint SMS-forwarding apps POST texts to.

Each POST to ``/import`` (or ``/``) is one ``import`` of its body: JSON (one object, an array
or JSON lines), a form (SmsForwarder's default body: ``from``, ``content``, ``timestamp``) or
plain text. Hostile input is expected: a bearer token is required before the body is read
(compared in constant time), the body is limited to :data:`MAX_BODY` bytes and must say its
length, a slow client is cut off after :data:`TIMEOUT` seconds, and requests are served one
at a time (one SQLite connection, no thread per request to exhaust). Loopback by default.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import UsageError
from .importer import Report
from .inbox import Message, read_messages

__all__ = ["MAX_BODY", "PATHS", "TIMEOUT", "TOKEN_KEY", "Inbox", "body_messages", "new_token"]

log = logging.getLogger("parcelctl.import")

MAX_BODY = 64 * 1024  # a forwarding app sends one SMS, or a handful, per request
TIMEOUT = 10.0
PATHS = ("/", "/import")
#: Where the token lives in the secret store (never in config.toml).
TOKEN_KEY = "import.serve.token"  # noqa: S105 - a key name, not a secret


def new_token() -> str:
    return secrets.token_urlsafe(24)


def body_messages(content_type: str, body: bytes, field: str | None) -> list[Message]:
    """The messages of one request body; :class:`UsageError` when it is none."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError("the body is not UTF-8") from None
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(text, keep_blank_values=True, max_num_fields=50, strict_parsing=True)
        except ValueError:
            raise UsageError("the form cannot be read") from None
        text = json.dumps({name: values[-1] for name, values in fields.items()},
                          ensure_ascii=False)
    return list(read_messages(text, field=field))


class Inbox(HTTPServer):
    """One server, one request at a time. ``handle_messages`` runs one import."""

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], token: str,
                 handle_messages: Callable[[list[Message]], Report],
                 field: str | None = None) -> None:
        super().__init__(address, _Handler)
        self.token = token
        self.handle_messages = handle_messages
        self.field = field

    def authorized(self, header: str) -> bool:
        scheme, _, given = header.strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode())

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}/import"


class _Handler(BaseHTTPRequestHandler):
    server: Inbox
    server_version = "parcelctl"
    sys_version = ""
    timeout = TIMEOUT
    protocol_version = "HTTP/1.0"  # one request per connection: nothing to hold open

    def do_POST(self) -> None:
        if urlsplit(self.path).path not in PATHS:
            self._reply(404, {"error": "not found: POST to /import"})
            return
        if not self.server.authorized(self.headers.get("Authorization", "")):
            self._reply(401, {"error": "a bearer token is required"},
                        {"WWW-Authenticate": 'Bearer realm="parcelctl"'})
            return
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            self._reply(411, {"error": "Content-Length is required"})
            return
        try:
            length = int(raw_length)
        except ValueError:
            length = -1
        if length < 0:
            self._reply(400, {"error": "bad Content-Length"})
            return
        if length > MAX_BODY:
            self._reply(413, {"error": f"the body is over {MAX_BODY // 1024} KB"})
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self._reply(400, {"error": "the body ended early"})
            return
        try:
            messages = body_messages(self.headers.get("Content-Type", ""), body,
                                     self.server.field)
            report = self.server.handle_messages(messages)
        except UsageError as exc:
            self._reply(400, {"error": exc.render()})
            return
        self._reply(200, report.to_json())

    def do_GET(self) -> None:
        self._reply(405, {"error": "POST messages to /import"}, {"Allow": "POST"})

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _reply(self, status: int, data: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line and status only: headers (the token) are never logged.
        log.info("%s %s", self.address_string(), format % args)
