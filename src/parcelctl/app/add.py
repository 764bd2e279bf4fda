"""``parcelctl add``: check the provider's settings, store the parcels, track them right
away (a small sync under the sync lock), and gather what the command shows about them.
The rules for numbers, carriers and phones are ``tracking.py``'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store
    from ..sync import SyncSummary
    from ..tracking import Entry


@dataclass
class Added:
    ids: list[int]
    #: Numbers that were tracked already (stored before this run).
    known: list[str]
    #: Repeated input lines skipped.
    repeated: int
    #: The tracking run's summary; ``None`` with ``track=False``.
    summary: SyncSummary | None
    #: 0, or 3 (``ExitCode.PARTIAL``) when stored but tracking failed.
    exit_code: int
    #: What was gathered below: "json", "rows" or "counts" (see :func:`add`).
    detail: str = "rows"
    #: ``detail="json"``: the parcels as ``views.iter_json`` objects.
    json: list[dict[str, Any]] = field(default_factory=list)
    #: ``detail="rows"``: the parcels' rows, for the table.
    rows: list[Any] = field(default_factory=list)
    #: ``detail="counts"``: (status, count) and (carrier, count), most first, and up to 21
    #: (number, error) of parcels with an error.
    by_status: list[tuple[str, int]] = field(default_factory=list)
    by_carrier: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def add(config: Config, entries: list[Entry], *, provider: str | None, phone: str | None,
        label: str, track: bool, lang: str, detail: Callable[[int], str],
        warn: Callable[[str], None]) -> Added:
    """Store ``entries`` (refusing all when one is refused) and track them unless not
    ``track``. ``detail(count)`` says what to gather for showing ``count`` parcels:
    ``"json"``, ``"rows"`` or ``"counts"``; ``warn`` is told of a fallback provider as soon
    as the parcels are stored."""
    from ..tracking import prepare, store_new, tracking_provider_name
    from .reading import open_store

    provider_name = tracking_provider_name(config, provider)
    if track:
        check_configured(config, provider_name)
    parcels, repeated = prepare(config, provider_name, entries, phone)
    with open_store(config) as store:
        added = store_new(store, parcels, provider_name=provider_name, label=label, phone=phone)
        if provider is None and provider_name == "cainiao" \
                and not config.get("providers.tracking.default"):
            warn("no tracking provider is configured, so these parcels go to Cainiao's "
                 "public, unofficial endpoint (made for cross-border parcels; it may change "
                 "or throttle) — for domestic parcels set up kuaidi100 or 17track: see the "
                 "README's quick start")
        ids = [pid for pid, _ in added]
        known = [p.number for p, (_, created) in zip(parcels, added, strict=True) if not created]
        summary = _track(config, store, set(ids)) if track else None
        result = Added(ids, known, repeated, summary, _exit_code(store, ids, summary))
        _gather(store, result, detail(len(ids)), lang)
    return result


def check_configured(config: Config, provider_name: str) -> None:
    """Say what is missing before storing anything."""
    from ..errors import ConfigError
    from ..providers import registry
    from ..services import settings_for

    cls = registry.load(provider_name)
    missing = cls.missing_settings({k.name: k.default for k in cls.config_keys}
                                   | settings_for(config, provider_name))
    if missing:
        raise ConfigError(f"not configured: {', '.join(missing)} missing",
                          provider=provider_name,
                          hint=f"run: parcelctl config set providers.{provider_name}."
                          f"{missing[0]} VALUE (or pick another --provider)")


def _track(config: Config, store: Store, ids: set[int]) -> SyncSummary:
    import asyncio

    from ..lock import SyncLock
    from ..sync import Syncer

    # Tracking is a small sync: it queues behind a running one, so that two processes
    # never talk to one provider at once (its rate limit holds per process).
    with SyncLock(config.paths.lock_file):
        return asyncio.run(Syncer(config, store).run(only_ids=ids))


def _exit_code(store: Store, ids: list[int], summary: SyncSummary | None) -> int:
    """3 when the parcels are stored but tracking failed (a provider, or one parcel's
    answer, e.g. a wrong phone); else 0."""
    from ..errors import ExitCode
    from ..tracking import errors_of

    if summary is None:
        return int(ExitCode.OK)
    if summary.exit_code or errors_of(store, ids, limit=1):
        return int(ExitCode.PARTIAL)
    return int(ExitCode.OK)


def _gather(store: Store, result: Added, detail: str, lang: str) -> None:
    from .. import views
    from ..tracking import added_counts, added_rows, errors_of

    result.detail = detail
    if detail == "json":
        result.json = list(views.iter_json(store.db, added_rows(store, result.ids), lang))
    elif detail == "rows":
        result.rows = added_rows(store, result.ids)
    else:
        result.by_status, result.by_carrier = added_counts(store, result.ids)
        result.failed = errors_of(store, result.ids, limit=21)
