"""Secrets out of every text: values registered as secret, and secret-looking parameters
and JSON members, become ``***`` in logs, errors and output. A module of its own, below
config and http, which both register secrets."""

from __future__ import annotations

import logging
import re

_SECRETS: set[str] = set()
_SECRET_PARAM = re.compile(
    r"(?i)((?:access_token|refresh_token|app_secret|sign|key|token|17token|secret|code|session)"
    r"=)[^&\s\"']+"
)
#: The same as JSON string members: a cut-off token answer quoted in an error message must
#: not show the new token (it is not registered yet: it never parsed).
_SECRET_MEMBER = re.compile(
    r"(?i)(\"(?:access_token|refresh_token|app_secret|sign_secret|secret|token|session|key)"
    r"\"\s*:\s*\")[^\"]*"
)


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` removes it from any text."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return _SECRET_MEMBER.sub(r"\1***", _SECRET_PARAM.sub(r"\1***", text))


class RedactingFilter(logging.Filter):
    """Every log record, to the file or to stderr (``--debug``): secrets redacted, and
    server text neutralised (``textsafe.log_line``: no escape sequence reaches a terminal
    that shows the log, no line feed forges a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .textsafe import log_line, terminal

        message = record.getMessage()
        record.msg = log_line(redact(message))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = terminal(redact(
                logging.Formatter().formatException(record.exc_info)))
        return True
