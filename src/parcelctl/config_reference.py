"""The configuration reference: every key with its type, default and meaning, as
``parcelctl config keys`` lists it and ``config get`` falls back to (docs/configuration.md
holds the same table, and a test keeps the two together)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config_keys import (
    SECRET_KEYS,
    declared_key,
    known_rules,
    provider_keys,
    provider_rule,
)
from .errors import UsageError


def _docs() -> dict[str, tuple[Any, str]]:
    """key -> (default, meaning) for ``config keys`` and ``config get``."""
    from .policy import DEFAULT_MINUTES

    docs: dict[str, tuple[Any, str]] = {
        "display.language": ("zh", "language of tables, digests and notifications"),
        "http.timeout": (20, "seconds one request may take, start to end"),
        "http.max_body_mb": (10, "largest answer read from a server, in MB, raw and after "
                             "decompression; a larger one is refused"),
        "sync.deadline": (1800, "seconds one sync run may take; providers still busy then "
                          "fail with one line, and the lock is released"),
        "secrets.backend": (None, "where secrets are kept: keyring, or file (a 0600 "
                                  "secrets.json); unset = the keyring when one is usable"),
        "polling.stale_days": (7, "days without a scan before a parcel counts as stale"),
        "polling.stale_minutes": (1440, "minutes between checks of a stale parcel"),
        "polling.min_minutes": (30, "no parcel is checked more often than this (minutes)"),
        "polling.jitter": (0.1, "random extra wait, as a fraction of the interval"),
        "polling.account_minutes": (30, "minutes between order imports of a linked account "
                                        "in watch"),
        "notify.on": (["out_for_delivery", "ready_for_pickup", "delivered", "exception",
                       "overdue"], "statuses (and overdue, stale) that notify"),
        "notify.quiet_hours": (None, "no notifications in this range, e.g. 22:00-08:00"),
        "notify.timezone": (None, "time zone of quiet hours; unset = the system's"),
        "notify.backlog_hours": (24, "on a shop's first import, only changes newer than this "
                                     "notify"),
        "notify.retry_hours": (24, "a notification that failed is retried this long"),
        "notify.burst": (5, "past this many messages in one run, send one summary "
                            "(0 = never)"),
        "notify.desktop.enabled": (False, "desktop notifications (notify-send)"),
        "notify.webhook.url": (None, "POST each change as JSON to this URL"),
        "notify.webhook.secret": (None, "HMAC key signing webhook bodies"),
        "notify.webhook.timeout": (10, "seconds a webhook delivery may take"),
        "notify.command.run": (None, "shell command that gets each change as JSON on stdin"),
        "notify.command.timeout": (30, "seconds the command may run"),
        "notify.apprise.urls": (None, "Apprise URLs to notify (needs parcelctl[apprise])"),
        "providers.tracking.default": (None, "tracking provider for add and platform "
                                             "waybills; unset = the first configured of "
                                             "kuaidi100, 17track, else cainiao"),
    }
    for status, value in DEFAULT_MINUTES.items():
        docs[f"polling.{status}"] = (value, f"minutes between checks of a parcel in "
                                            f"{status}")
    return docs



# -- the reference (`config keys`) -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KeyDoc:
    key: str
    type: str
    default: Any
    secret: bool
    help: str


def reference(prefix: str = "") -> list[KeyDoc]:
    """Every known key (the installed providers' own included), sorted by name."""
    from .providers import registry

    docs = _docs()
    found = [KeyDoc(key, rule.kind, docs.get(key, (None, ""))[0], key in SECRET_KEYS,
                    docs.get(key, (None, ""))[1]) for key, rule in known_rules().items()]
    default_tracking, tracking_help = docs["providers.tracking.default"]
    found.append(KeyDoc("providers.tracking.default", "tracking provider name",
                        default_tracking, False, tracking_help))
    for name in registry.names():
        try:
            keys = provider_keys(name)
        except UsageError:  # a broken plugin still lets the rest be listed
            continue
        for sub, declared in keys.items():
            rule = provider_rule(declared)
            found.append(KeyDoc(f"providers.{name}.{sub}", rule.kind, declared.default,
                                declared.secret, declared.help))
    return sorted((doc for doc in found if doc.key.startswith(prefix)), key=lambda d: d.key)


def default_of(key: str) -> tuple[bool, Any]:
    """(known, default) of a key; unknown keys are (False, None)."""
    parts = key.split(".")
    if parts[0] == "providers" and parts[1:2] != ["tracking"]:
        try:
            return True, declared_key(key, parts).default
        except UsageError:
            return False, None
    docs = _docs()
    if key in docs:
        return True, docs[key][0]
    return False, None
