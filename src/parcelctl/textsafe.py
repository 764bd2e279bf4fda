"""The one sanitiser for text that came from a server (or a user) on its way to a sink.

A carrier's event text, a shop's title or a service's error message is stored as it came,
and neutralised where it is shown: the terminal views, the log file, ``--debug`` output,
desktop notifications (:func:`terminal`), and every JSON output (:func:`json_text`).

* C0 and C1 controls and DEL (ESC starts colour, OSC 8 hyperlinks and screen clears; BEL
  ends an OSC; U+009B is a one-character CSI) become U+FFFD, so the text stays readable
  and shows that something was there; tab and line feed are kept.
* Bidi overrides, isolates and marks (U+202A-202E, U+2066-2069, U+200E, U+200F, U+061C)
  and zero-width characters (U+200B, U+2060, U+FEFF) are removed: they make a line display
  in an order other than the one it is stored in (a tracking number or a URL that reads
  backwards), or hide a difference. The zero-width joiners U+200C and U+200D stay: emoji
  sequences and several scripts need them, and they reorder nothing.

JSON keeps the data exact: the same characters become ``\\u`` escapes instead, which a
JSON reader decodes back to the stored text but a terminal showing the raw output never
interprets (``json.dumps(..., ensure_ascii=False)`` writes U+009B as a raw byte pair).
Stdlib only: ``list`` and ``show`` import this at start-up.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

#: Controls shown as U+FFFD (tab and line feed are layout, not controls).
CONTROLS = tuple(code for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
                 if code not in (0x09, 0x0A))
#: Invisible characters that reorder or hide text; removed.
INVISIBLE = (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0x200E, 0x200F,
             0x2060, 0xFEFF, 0x061C)

_TERMINAL: dict[int, str | None] = {code: REPLACEMENT for code in CONTROLS}
_TERMINAL.update({code: None for code in INVISIBLE})
#: For a log line: a line feed in server text must not forge a second record.
_LOG: dict[int, str | None] = _TERMINAL | {0x0A: REPLACEMENT}
#: What JSON writes raw that :func:`json_text` escapes (a regex: ``list --all --json``
#: writes tens of megabytes, and a search is a fast scan where ``translate`` is not).
_JSON = re.compile("[" + "".join(f"\\u{code:04x}" for code in (*CONTROLS, *INVISIBLE)
                                 if code >= 0x7F) + "]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def terminal(text: str) -> str:
    """``text`` as it may reach a terminal (views, notifications, error lines)."""
    return text.translate(_TERMINAL) if not text.isprintable() else text


def log_line(text: str) -> str:
    """``text`` as it may go into one log record (the log file, ``--debug`` on stderr)."""
    return text.translate(_LOG) if not text.isprintable() else text


def json_text(encoded: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with DEL, C1, bidi and
    zero-width characters written as ``\\u`` escapes (C0 ones are escaped by json already).
    Valid only on JSON text: those characters occur there only inside strings."""
    if encoded.isascii() or not _JSON.search(encoded):
        return encoded
    return _JSON.sub(_escape, encoded)


def rich_table() -> dict[int, str | None]:
    """The table Rich's control stripping uses for every ``Text`` (see cli.output)."""
    return dict(_TERMINAL)
