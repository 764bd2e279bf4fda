"""What ``config set`` accepts: every known setting, its type, range, default and meaning.

A wrong value used to be saved without a word and surface later, inside a cron job, as
"unexpected error: ValueError … report it" (``http.timeout abc``, ``polling.stale_days 1e6``)
or as a warning in the log nobody reads (``notify.timezone Mars/Olympus``). A typo in a key
(``polling.stale_day``, ``providers.kuaidi100.custmer``) was saved and silently ignored. Both
are refused here, with the key named and what to do; values read back from a hand-edited
config.toml go through the same rules (:func:`check_loaded`).

Provider tables (``providers.NAME.*``) are checked against the keys the provider declares
(``Provider.config_keys``): unknown keys, wrong types, choices and ranges. Whether a value
is a secret is the declaration's ``secret=True``, never a guess from its name.

Every number has a finite range: an unbounded one (``inf``, ``1e20`` hours) is accepted
today and overflows a date computation tomorrow.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from datetime import time
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, UsageError
from .status import Status

#: Conditions ``notify.on`` may name besides statuses. Defined here, not in notify.py, so
#: that config (which checks the key) stays below notify in the layers.
CONDITIONS = ("overdue", "stale")
#: What ``notify.on`` may name.
ON_CHOICES = (*(s.value for s in Status), *CONDITIONS)

if TYPE_CHECKING:
    from pathlib import Path

    from .providers.base import ConfigKey

Check = Callable[[str, Any], None]

#: Upper bound of a number nobody declared a range for.
DEFAULT_MAXIMUM = 1_000_000.0


class Rule:
    """A check with a human description of what it accepts (``config keys`` shows it)."""

    def __init__(self, kind: str, check: Check, *, numeric: bool = False) -> None:
        self.kind = kind
        self.numeric = numeric
        self._check = check

    def __call__(self, key: str, value: Any) -> None:
        self._check(key, value)


def _number(minimum: float = 0.0, maximum: float | None = None, *, above: bool = False,
            whole: bool = False) -> Rule:
    top = DEFAULT_MAXIMUM if maximum is None else maximum
    kind = "a whole number" if whole else "a number"
    limits = f"above {minimum:g} and at most {top:g}" if above else f"from {minimum:g} to {top:g}"

    def check(key: str, value: Any) -> None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            ok = math.isfinite(value)
        if ok and whole:
            ok = float(value).is_integer()
        if ok:
            ok = value > minimum if above else value >= minimum
        if ok:
            ok = value <= top
        if not ok:
            raise UsageError(f"{key} must be {kind} {limits}, not {_short(value)}",
                             hint=f"run: parcelctl config set {key} NUMBER")
    return Rule(f"{'integer' if whole else 'number'} {limits.replace('and at most', 'to')}",
                check, numeric=True)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _choice(*allowed: str) -> Rule:
    def check(key: str, value: Any) -> None:
        if value not in allowed:
            close = difflib.get_close_matches(str(value), allowed, n=1)
            raise UsageError(f"{key} must be one of {', '.join(allowed)}, not {_short(value)}",
                             hint=f"did you mean {close[0]}?" if close else None)
    return Rule(f"one of {', '.join(allowed)}", check)


def _boolean_check(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise UsageError(f"{key} must be true or false, not {_short(value)}")


def _text_check(key: str, value: Any) -> None:
    # A number typed for a text (an id such as 12345) is kept: TOML reads it as an integer.
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise UsageError(f"{key} must be a non-empty text, not {_short(value)}")


def _maybe_empty_text(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UsageError(f"{key} must be a text, not {_short(value)}")


def _url_check(key: str, value: Any) -> None:
    if not (isinstance(value, str) and value.lower().startswith(("https://", "http://"))):
        raise UsageError(f"{key} must be an http(s) URL")


def _texts_check(key: str, value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise UsageError(f"{key} must be a text or a list of texts, not {_short(value)}")


def _list_check(key: str, value: Any) -> None:
    if not isinstance(value, list):
        raise UsageError(f"{key} must be a list such as [\"a\", \"b\"], not {_short(value)}")


def _table_check(key: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise UsageError(f"{key} must be a table such as {{\"a\" = \"b\"}}, "
                         f"not {_short(value)}")


def _anything(key: str, value: Any) -> None:
    return None


_boolean = Rule("true or false", _boolean_check)
_text = Rule("text", _text_check)
_url = Rule("http(s) URL", _url_check)
_texts = Rule("text or list of texts", _texts_check)


def _notify_on_check(key: str, value: Any) -> None:
    items = [p.strip() for p in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise UsageError(f"{key} must be a list such as [\"delivered\", \"exception\"]")
    for item in items:
        if item not in ON_CHOICES:
            raise UsageError(f"{key}: '{item}' is not a status or condition",
                             hint=f"choose from {', '.join(ON_CHOICES)}")


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """``"22:00-08:00"`` -> (22:00, 08:00); the range may wrap past midnight."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    try:
        if match is None:
            raise ValueError
        h1, m1, h2, m2 = map(int, match.groups())
        start, end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError(f"'{text}' is not HH:MM-HH:MM (e.g. 22:00-08:00)") from None
    if start == end:
        raise ValueError(f"'{text}' starts and ends at the same time")
    return start, end


def _quiet_hours_check(key: str, value: Any) -> None:
    try:
        parse_quiet_hours(str(value))
    except ValueError as exc:
        raise UsageError(f"{key}: {exc}") from None


def _timezone_check(key: str, value: Any) -> None:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(str(value))
    except (ValueError, KeyError, OSError):
        raise UsageError(f"{key}: '{value}' is not a known time zone",
                         hint="use an IANA name such as Asia/Shanghai") from None


def known_rules() -> dict[str, Rule]:
    from .policy import DEFAULT_MINUTES

    minutes = _number(above=True, maximum=43_200, whole=True)  # up to 30 days
    keys: dict[str, Rule] = {
        "display.language": _choice("zh", "en"),
        "http.timeout": _number(above=True, maximum=600),
        "http.max_body_mb": _number(1.0, 1024.0),
        "sync.deadline": _number(1.0, 86400.0),
        "secrets.backend": _choice("keyring", "file"),
        "polling.stale_days": _number(maximum=3650),
        "polling.stale_minutes": _number(maximum=43_200, whole=True),
        "polling.min_minutes": _number(maximum=43_200, whole=True),
        "polling.jitter": _number(0.0, 1.0),
        "polling.account_minutes": _number(above=True, maximum=43_200),
        "notify.on": Rule("list of statuses, overdue, stale", _notify_on_check),
        "notify.quiet_hours": Rule("HH:MM-HH:MM", _quiet_hours_check),
        "notify.timezone": Rule("IANA time zone", _timezone_check),
        "notify.backlog_hours": _number(maximum=8760),
        "notify.retry_hours": _number(maximum=8760),
        "notify.burst": _number(maximum=10_000, whole=True),
        "notify.desktop.enabled": _boolean,
        "notify.webhook.url": _url,
        "notify.webhook.secret": _text,
        "notify.webhook.timeout": _number(above=True, maximum=600),
        "notify.command.run": _text,
        "notify.command.timeout": _number(above=True, maximum=3600),
        "notify.apprise.urls": _texts,
    }
    keys.update({f"polling.{status}": minutes for status in DEFAULT_MINUTES})
    return keys


#: Keys outside provider tables whose values go to the secret store: webhook URLs carry
#: tokens in their path, Apprise URLs carry passwords.
SECRET_KEYS = frozenset({"notify.webhook.url", "notify.webhook.secret", "notify.apprise.urls"})


#: Settings every provider may have (shared by the sync engine), checked wherever they appear.
PROVIDER_NUMBERS: dict[str, Rule] = {
    "rate_per_second": _number(above=True, maximum=1000),
    "concurrency": _number(1, 64, whole=True),
    "batch_size": _number(1, 1000, whole=True),
    "min_interval_minutes": _number(0, 43_200, whole=True),
}

_PROVIDER_NUMBER_DOCS = {
    "rate_per_second": "requests per second to this provider (default: its documented rate)",
    "concurrency": "requests in flight at once",
    "batch_size": "numbers per request",
    "min_interval_minutes": "ask about one number at most this often",
}


# -- provider keys ---------------------------------------------------------------------------

def key_type(declared: ConfigKey) -> str:
    """A declared key's type: as declared, else from its default."""
    if declared.type:
        return declared.type
    default = declared.default
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    if isinstance(default, list | tuple):
        return "list"
    if isinstance(default, dict):
        return "table"
    if declared.name.endswith(("_url", "_uri")):
        return "url"
    return "text"


def provider_rule(declared: ConfigKey) -> Rule:
    kind = key_type(declared)
    if declared.choices:
        return _choice(*declared.choices)
    shared = PROVIDER_NUMBERS.get(declared.name)
    if shared is not None and declared.minimum is None and declared.maximum is None:
        return shared
    if kind == "text" and declared.default == "":
        return Rule("text (may be empty)", _maybe_empty_text)
    if kind in ("integer", "number"):
        return _number(0.0 if declared.minimum is None else declared.minimum,
                       declared.maximum, whole=kind == "integer")
    simple: dict[str, Rule] = {
        "boolean": _boolean, "url": _url, "text": _text,
        "list": Rule("list", _list_check), "table": Rule("table", _table_check),
    }
    return simple.get(kind, Rule("any value", _anything))


def provider_keys(name: str) -> dict[str, ConfigKey]:
    """Every key ``providers.NAME.*`` may hold: the provider's own and the shared ones."""
    from .providers import registry
    from .providers.base import ConfigKey

    cls = registry.load(name)
    keys = {key.name: key for key in cls.config_keys}
    for shared in PROVIDER_NUMBERS:
        if shared not in keys:
            default = getattr(cls, shared, None)
            keys[shared] = ConfigKey(shared, _PROVIDER_NUMBER_DOCS[shared], default,
                                     type="number" if "rate" in shared else "integer")
    return keys


def declared_key(key: str, parts: list[str]) -> ConfigKey:
    from .providers import registry

    if len(parts) < 3:
        raise UsageError(f"'{key}' is a section, not a setting",
                         hint="set one key inside it, e.g. providers.kuaidi100.customer")
    name = parts[1]
    if name not in registry.names():
        close = difflib.get_close_matches(name, registry.names(), n=1)
        raise UsageError(f"'{name}' is not a provider",
                         hint=f"did you mean {close[0]}?" if close
                         else f"choose from {', '.join(registry.names())}")
    keys = provider_keys(name)
    sub = ".".join(parts[2:])
    if sub not in keys:
        close = difflib.get_close_matches(sub, list(keys), n=1)
        raise UsageError(f"'{key}' is not a setting of {name}",
                         hint=f"did you mean providers.{name}.{close[0]}?" if close
                         else f"run: parcelctl config keys providers.{name}")
    return keys[sub]


def require_known(key: str) -> None:
    """Raise UsageError (with the nearest key) unless ``key`` is a setting."""
    parts = key.split(".")
    if parts[0] == "providers":
        if parts[1:2] == ["tracking"]:
            if parts[2:] != ["default"]:
                raise UsageError(f"'{key}' is not a setting parcelctl knows",
                                 hint="did you mean providers.tracking.default?")
            return
        declared_key(key, parts)
        return
    known = known_rules()
    if key not in known:
        close = difflib.get_close_matches(key, list(known), n=1)
        raise UsageError(f"'{key}' is not a setting parcelctl knows",
                         hint=f"did you mean {close[0]}?" if close
                         else "run: parcelctl config keys")


def is_secret(key: str) -> bool:
    """True when ``key``'s value belongs in the secret store (by declaration only)."""
    parts = key.split(".")
    if parts[0] != "providers":
        return key in SECRET_KEYS
    if len(parts) < 3 or parts[1] == "tracking":
        return False
    try:
        return declared_key(key, parts).secret
    except UsageError:
        return False


# -- checks ----------------------------------------------------------------------------------

def check(key: str, value: Any) -> None:
    """Raise UsageError unless ``value`` may be stored under ``key``."""
    parts = key.split(".")
    if parts[0] == "providers" and parts[1:2] == ["tracking"]:
        _check_tracking(key, parts, value)
        return
    if parts[0] == "providers":
        declared = declared_key(key, parts)
        rule, secret = provider_rule(declared), declared.secret
    else:
        require_known(key)
        rule, secret = known_rules()[key], key in SECRET_KEYS
    if isinstance(value, dict) and not rule.kind.startswith("table"):
        # A whole table in one go would also slip its secrets past the secret store.
        raise UsageError(f"'{key}' takes one value, not a table",
                         hint=f"set each key on its own: parcelctl config set {key}.NAME VALUE")
    try:
        rule(key, value)
    except UsageError as exc:
        if not secret:
            raise
        # The refusal of a secret never shows the secret.
        raise UsageError(exc.message.replace(_short(value), "the value given"),
                         hint=exc.hint) from None


def _check_tracking(key: str, parts: list[str], value: Any) -> None:
    from .providers import registry

    if parts[2:] != ["default"]:
        raise UsageError(f"'{key}' is not a setting parcelctl knows",
                         hint="did you mean providers.tracking.default?")
    registry.load_tracker(str(value))


def check_loaded(key: str, value: Any, source: Path) -> None:
    """A value read back from config.toml: a hand edit gets the same rules as ``config set``,
    as a one-line ConfigError naming the key and the file."""
    rule = known_rules().get(key)
    # Numbers are what crash later (an overflow deep in a date computation); a bad
    # notify.on or time zone is already reported by notify as a problem and skipped.
    if rule is None or value is None or not rule.numeric:
        return
    _as_config_error(rule, key, value, source)


def check_provider_table(name: str, table: dict[str, Any], source: Path) -> None:
    """Every value of ``[providers.NAME]`` against the provider's declarations."""
    keys = provider_keys(name)
    for sub, value in table.items():
        declared = keys.get(sub)
        if declared is not None:  # unknown keys are refused by `config set`, kept on load
            _as_config_error(provider_rule(declared), f"providers.{name}.{sub}", value, source)


def _as_config_error(rule: Rule, key: str, value: Any, source: Path) -> None:
    try:
        rule(key, value)
    except UsageError as exc:
        message = exc.message
        if key in SECRET_KEYS:
            message = message.replace(_short(value), "the value stored")
        raise ConfigError(f"{source}: {message}",
                          hint=f"fix it with: parcelctl config set {key} VALUE (or config "
                               f"unset {key})") from None
