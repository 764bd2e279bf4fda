"""Reading messages: plain text (separated by blank lines), JSON lines, or a JSON array.

A JSON message is an object with the text in a field (``--field``; without it the first of
:data:`TEXT_FIELDS`), optionally its time in one of :data:`TIME_FIELDS`; a JSON string is a
message without a time. Shapes of the forwarding apps people use:

* SmsForwarder (pppscn/SmsForwarder ``WebhookUtils.kt``): a JSON template such as
  ``{"from":"[from]","content":"[org_content]","timestamp":"[timestamp]"}`` (milliseconds);
  its default, form-encoded body has the same names (``from``, ``content``, ``timestamp``);
* "Incoming SMS to URL forwarder" (bogkonstantin): ``from``, ``text``, ``receivedStamp``;
* Tasker: whatever the HTTP Request body says, e.g.
  ``{"text":"%SMSRB","from":"%SMSRF","timestamp":"%TIMES"}`` (seconds).

A message longer than :data:`MAX_MESSAGE` characters is refused (no SMS or notification is
that long; a pasted web page is not a message); the input as a whole is limited to
:data:`MAX_INPUT` bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import UsageError
from ..status import CHINA_TZ

__all__ = ["MAX_INPUT", "MAX_MESSAGE", "TEXT_FIELDS", "TIME_FIELDS", "Message", "parse_time",
           "read_messages"]

MAX_MESSAGE = 2000
MAX_INPUT = 32 * 1024 * 1024
TEXT_FIELDS = ("text", "content", "body", "message", "msg")
TIME_FIELDS = ("received_at", "receive_time", "receivedStamp", "timestamp", "time", "date",
               "ts")

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v\u3000]*\n")


@dataclass(slots=True)
class Message:
    index: int  # 1-based position in the input
    text: str
    received: datetime | None = None
    problem: str | None = None  # why it is refused (too long, not JSON, no text field)


def read_messages(data: str, *, field: str | None = None) -> Iterator[Message]:
    """Messages of ``data`` in order. Each message's problem is its own; a whole input that
    cannot be read at all raises :class:`UsageError`."""
    if len(data) > MAX_INPUT:
        raise UsageError(f"the input is over {MAX_INPUT // (1024 * 1024)} MB",
                         hint="split it and import the parts one after another")
    data = data.lstrip("\ufeff")
    head = data.lstrip()[:1]
    if head == "[":
        yield from _json_array(data, field)
    elif head == "{":
        yield from _json_lines(data, field)
    else:
        if field is not None:
            raise UsageError("--field needs JSON input (one object per line)")
        yield from _plain(data)


def _plain(data: str) -> Iterator[Message]:
    text = data.replace("\r\n", "\n").replace("\r", "\n")
    index = 0
    for chunk in _BLANK_LINE.split(text):
        chunk = chunk.strip()
        if chunk:
            index += 1
            yield _checked(Message(index, chunk))


def _json_lines(data: str, field: str | None) -> Iterator[Message]:
    index = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        index += 1
        try:
            value = json.loads(line)
        except ValueError:
            yield Message(index, line.strip(), problem=f"line {index} is not JSON")
            continue
        yield _from_value(index, value, field)


def _json_array(data: str, field: str | None) -> Iterator[Message]:
    try:
        values = json.loads(data)
    except json.JSONDecodeError as exc:
        raise UsageError(f"the input starts like a JSON array but is not one ({exc.msg})",
                         hint="give one JSON object per line, or plain text") from None
    if not isinstance(values, list):
        raise UsageError("the JSON input is not an array of messages")
    for index, value in enumerate(values, start=1):
        yield _from_value(index, value, field)


def _from_value(index: int, value: Any, field: str | None) -> Message:
    if isinstance(value, str) and field is None:
        return _checked(Message(index, value.strip()))
    if not isinstance(value, dict):
        return Message(index, _shown(value), problem=f"message {index} is not a JSON object")
    names = (field,) if field is not None else TEXT_FIELDS
    text = next((v for name in names if isinstance(v := _lookup(value, name), str)), None)
    if text is None:
        wanted = f"'{field}'" if field else "text, content or body"
        return Message(index, _shown(value),
                       problem=f"message {index} has no {wanted} field (choose it with --field)")
    received = None
    for name in TIME_FIELDS:
        raw = _lookup(value, name)
        if raw not in (None, ""):
            received = parse_time(raw)
            if received is not None:
                break
    return _checked(Message(index, text.strip(), received))


def _lookup(value: dict[str, Any], name: str) -> Any:
    """``a.b`` looks into nested objects (``--field data.content``)."""
    current: Any = value
    for part in name.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:200]


def _checked(message: Message) -> Message:
    if len(message.text) > MAX_MESSAGE:
        message.problem = (f"message {message.index} is {len(message.text):,} characters long"
                           f" (the limit is {MAX_MESSAGE:,}): refused")
        message.text = message.text[:200]
    return message


def parse_time(raw: Any) -> datetime | None:
    """Epoch seconds or milliseconds (number or digits), or ISO-8601 / ``YYYY-MM-DD
    HH:MM:SS``; a time without an offset is China time, as the texts are. ``None`` when it
    is none of these."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and re.fullmatch(r"\s*\d{9,13}(?:\.\d+)?\s*", raw):
        raw = float(raw)
    if isinstance(raw, int | float):
        seconds = float(raw) / 1000 if raw > 1e11 else float(raw)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(raw, str):
        return None
    text = raw.strip().replace("/", "-")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=CHINA_TZ)
