"""What ``config set`` accepts: the known settings and the values each may take.

A wrong value used to be saved without a word and surface later, inside a cron job, as
"unexpected error: ValueError … report it" (``http.timeout abc``) or as a warning in the log
nobody reads (``notify.timezone Mars/Olympus``). A typo in a key (``polling.stale_day``) was
saved and silently ignored. Both are refused here, with the key named and what to do.

Provider tables (``providers.NAME.*``) hold each provider's own settings (URLs, app keys,
windows…), documented with the provider; only the provider's name and the numeric limits
every provider shares are checked.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from .errors import UsageError

Check = Callable[[str, Any], None]


def _number(minimum: float = 0.0, maximum: float | None = None, *, above: bool = False,
            whole: bool = False) -> Check:
    def check(key: str, value: Any) -> None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and whole:
            ok = float(value).is_integer()
        if ok:
            ok = value > minimum if above else value >= minimum
        if ok and maximum is not None:
            ok = value <= maximum
        if not ok:
            kind = "a whole number" if whole else "a number"
            limits = f"above {minimum:g}" if above else f"at least {minimum:g}"
            if maximum is not None:
                limits = f"from {minimum:g} to {maximum:g}"
            raise UsageError(f"{key} must be {kind} {limits}, not {value!r}",
                             hint=f"run: parcelctl config set {key} NUMBER")
    return check


def _choice(*allowed: str) -> Check:
    def check(key: str, value: Any) -> None:
        if value not in allowed:
            raise UsageError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    return check


def _boolean(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise UsageError(f"{key} must be true or false, not {value!r}")


def _text(key: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{key} must be a non-empty text, not {value!r}")


def _url(key: str, value: Any) -> None:
    if not (isinstance(value, str) and value.startswith(("https://", "http://"))):
        raise UsageError(f"{key} must be an http(s) URL")


def _texts(key: str, value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise UsageError(f"{key} must be a text or a list of texts, not {value!r}")


def _notify_on(key: str, value: Any) -> None:
    from .notify import ON_CHOICES

    items = [p.strip() for p in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise UsageError(f"{key} must be a list such as [\"delivered\", \"exception\"]")
    for item in items:
        if item not in ON_CHOICES:
            raise UsageError(f"{key}: '{item}' is not a status or condition",
                             hint=f"choose from {', '.join(ON_CHOICES)}")


def _quiet_hours(key: str, value: Any) -> None:
    from .notify import parse_quiet_hours

    try:
        parse_quiet_hours(str(value))
    except ValueError as exc:
        raise UsageError(f"{key}: {exc}") from None


def _timezone(key: str, value: Any) -> None:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(str(value))
    except (ValueError, KeyError, OSError):
        raise UsageError(f"{key}: '{value}' is not a known time zone",
                         hint="use an IANA name such as Asia/Shanghai") from None


def _known() -> dict[str, Check]:
    from .policy import DEFAULT_MINUTES

    positive, zero_or_more = _number(above=True), _number()
    keys: dict[str, Check] = {
        "display.language": _choice("zh", "en"),
        "http.timeout": positive,
        "http.max_body_mb": _number(1.0, 1024.0),
        "sync.deadline": _number(1.0, 86400.0),
        "secrets.backend": _choice("keyring", "file"),
        "polling.stale_days": zero_or_more,
        "polling.stale_minutes": zero_or_more,
        "polling.min_minutes": zero_or_more,
        "polling.jitter": _number(0.0, 1.0),
        "polling.account_minutes": positive,
        "notify.on": _notify_on,
        "notify.quiet_hours": _quiet_hours,
        "notify.timezone": _timezone,
        "notify.backlog_hours": zero_or_more,
        "notify.retry_hours": zero_or_more,
        "notify.burst": _number(whole=True),
        "notify.desktop.enabled": _boolean,
        "notify.webhook.url": _url,
        "notify.webhook.secret": _text,
        "notify.webhook.timeout": positive,
        "notify.command.run": _text,
        "notify.command.timeout": positive,
        "notify.apprise.urls": _texts,
    }
    keys.update({f"polling.{status}": positive for status in DEFAULT_MINUTES})
    return keys


#: Settings every provider may have, checked wherever they appear.
PROVIDER_NUMBERS: dict[str, Check] = {
    "rate_per_second": _number(above=True),
    "concurrency": _number(1, whole=True),
    "batch_size": _number(1, whole=True),
}


def check(key: str, value: Any) -> None:
    """Raise UsageError unless ``value`` may be stored under ``key``."""
    parts = key.split(".")
    if parts[0] == "providers":
        _check_provider(key, parts, value)
        return
    known = _known()
    if key in known:
        known[key](key, value)
        return
    close = difflib.get_close_matches(key, list(known), n=1)
    raise UsageError(f"'{key}' is not a setting parcelctl knows",
                     hint=f"did you mean {close[0]}?" if close
                     else "the README's Configuration section lists them")


def _check_provider(key: str, parts: list[str], value: Any) -> None:
    from .providers import registry

    if len(parts) < 3:
        raise UsageError(f"'{key}' is a section, not a setting",
                         hint="set one key inside it, e.g. providers.kuaidi100.customer")
    name = parts[1]
    if name == "tracking":
        if parts[2:] != ["default"]:
            raise UsageError(f"'{key}' is not a setting parcelctl knows",
                             hint="did you mean providers.tracking.default?")
        registry.load_tracker(str(value))
        return
    if name not in registry.names():
        raise UsageError(f"'{name}' is not a provider",
                         hint=f"choose from {', '.join(registry.names())}")
    if len(parts) == 3 and parts[2] in PROVIDER_NUMBERS:
        PROVIDER_NUMBERS[parts[2]](key, value)
    if key.endswith("_url"):
        _url(key, value)
