"""Hostile-server faults: answers no documented service sends, but a broken proxy, a
compromised mirror or a misbehaving backend can. Each one takes the service's own answer
(or none) and turns it into the hostile variant, so it works for every simulated protocol.

* ``gzip_lie``: the answer, labelled ``Content-Encoding: gzip`` without being gzip;
* ``drip``: the answer, one byte every ``seconds`` (Content-Length declared honestly);
* ``nested_json``: ``[[[[…]]]]``, ``size`` levels deep (default 100,000);
* ``oversized``: ``size`` bytes of JSON whitespace (default 100 MB), chunked, no length;
* ``bomb``: gzip of ``size`` zero bytes (default 1 GiB: about 1 MB on the wire), made as
  it is sent;
* ``ancient_time``: the answer with every ``yyyy-MM-dd HH:mm:ss`` made 0001-01-01 00:00:00;
* ``event_flood``: the answer's longest list of objects (a timeline) grown to ``size``
  entries (default 200,000), each a copy of its first with a numbered (non-ASCII) text;
* ``control_text``: the answer with terminal escapes, OSC 8, BEL, bidi overrides,
  zero-width and C1 characters appended to every longer non-ASCII text.
"""

from __future__ import annotations

import copy
import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

from .base import Response, json_response

KINDS = ("gzip_lie", "drip", "nested_json", "oversized", "bomb", "ancient_time",
         "event_flood", "control_text")
#: Defaults for ``size`` per kind.
SIZES = {"nested_json": 100_000, "oversized": 100 * 2**20, "bomb": 2**30,
         "event_flood": 200_000}
HOSTILE_TEXT = ("\x1b[2J\x1b]8;;https://evil.example\x07link\x1b]8;;\x07\x07"
                "\u202eevil\u2066x\u2069\u200b\x9b31m")
_WALL_TIME = re.compile(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_CHUNK = 64 * 1024


def apply(kind: str, answer: Response, size: int, seconds: float) -> Response:
    """The hostile variant of ``answer`` (the service's normal answer to the request)."""
    size = size or SIZES.get(kind, 0)
    if kind == "gzip_lie":
        answer.headers["Content-Encoding"] = "gzip"
        return answer
    if kind == "drip":
        body = answer.body
        answer.headers["Content-Length"] = str(len(body))
        answer.stream = (body[i:i + 1] for i in range(len(body)))
        answer.pause = seconds
        return answer
    if kind == "nested_json":
        return Response(200, b"[" * size + b"]" * size)
    if kind == "oversized":
        return Response(200, stream=_spaces(size))
    if kind == "bomb":
        return Response(200, headers={"Content-Encoding": "gzip"}, stream=_bomb(size))
    if kind == "ancient_time":
        answer.body = _WALL_TIME.sub(b"0001-01-01 00:00:00", answer.body)
        return answer
    payload = json.loads(answer.body)
    if kind == "event_flood":
        _flood(payload, size)
    else:
        payload = _hostile_text(payload)
    return json_response(payload, answer.status, answer.headers)


def _spaces(size: int) -> Iterator[bytes]:
    chunk = b" " * _CHUNK
    sent = 0
    while sent < size:
        part = chunk[:size - sent]
        sent += len(part)
        yield part


def _bomb(size: int) -> Iterator[bytes]:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(2**20)
    left = size
    while left > 0:
        out = packer.compress(zeros[:left])
        left -= min(left, len(zeros))
        if out:
            yield out
    yield packer.flush()


def _lists(value: Any) -> Iterator[list[Any]]:
    if isinstance(value, dict):
        value = list(value.values())
    elif not isinstance(value, list):
        return
    else:
        if value and all(isinstance(item, dict) for item in value):
            yield value
    for item in value:
        yield from _lists(item)


def _flood(payload: Any, size: int) -> None:
    found = max(_lists(payload), key=len, default=None)
    if not found:
        return
    first = found[0]
    # A text (not a time, a code or a number), so that each copy is a distinct event.
    texts = [k for k, v in first.items() if isinstance(v, str) and not v.isascii()]
    key = max(texts, key=lambda k: len(first[k]), default=None)
    for number in range(len(found), size):
        item = copy.copy(first)
        if key is not None:
            item[key] = f"{first[key]} #{number}"
        found.append(item)


def _hostile_text(value: Any) -> Any:
    if isinstance(value, str):
        return value + HOSTILE_TEXT if len(value) >= 6 and not value.isascii() else value
    if isinstance(value, list):
        return [_hostile_text(item) for item in value]
    if isinstance(value, dict):
        return {key: _hostile_text(item) for key, item in value.items()}
    return value
