"""Normalized domain objects shared by providers, the store and the CLI.

Providers produce these from remote payloads; nothing here knows a protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

# Re-exported: the vocabulary lives in .status so that `list` and `show` need not build
# these dataclasses at start-up.
from .status import CHINA_TZ, FINAL_STATUSES, Status, normalize_number, utcnow

__all__ = [
    "CHINA_TZ", "FINAL_STATUSES", "CarrierCandidate", "Order", "Status", "TokenSet",
    "TrackRequest", "TrackResult", "TrackingEvent", "Waybill", "normalize_number", "utcnow",
]


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One scan. ``time`` is always timezone-aware."""

    time: datetime
    description: str
    location: str = ""
    status: Status | None = None
    raw_code: str = ""

    @property
    def key(self) -> str:
        """Stable de-duplication key: same instant + same text = same event."""
        import hashlib  # here: list and show load this module but never compute keys

        utc = self.time.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        digest = hashlib.sha1(  # noqa: S324 - identity, not security
            f"{utc}\x1f{self.description.strip()}\x1f{self.location.strip()}".encode()
        ).hexdigest()
        return digest[:20]


@dataclass(slots=True)
class TrackResult:
    """What a tracking provider knows about one number."""

    number: str
    carrier: str
    status: Status
    events: list[TrackingEvent] = field(default_factory=list)
    raw_status: str = ""
    pickup_code: str | None = None
    #: True when the provider answered "no information yet" (not a failure).
    no_info: bool = False
    #: Per-item error message (e.g. rejected by 17TRACK); other items still count.
    error: str | None = None
    #: Error class name for per-item errors, e.g. "PhoneRequired".
    error_kind: str | None = None
    #: ``returned`` while still on its way back to the sender: polled (slowly) until the
    #: return ends or goes quiet for polling.stale_days (DESIGN's status vocabulary).
    returning: bool = False


@dataclass(frozen=True, slots=True)
class TrackRequest:
    number: str
    carrier: str = ""
    phone: str | None = None
    #: This provider answered for the number before without an error (17TRACK: it is
    #: registered there, so a poll needs no new ``register`` call).
    known: bool = False


@dataclass(frozen=True, slots=True)
class CarrierCandidate:
    code: str
    name: str = ""
    confidence: str = "high"  # high | medium | low


@dataclass(frozen=True, slots=True)
class Waybill:
    number: str
    carrier: str  # parcelctl carrier code (kuaidi100 ``com`` vocabulary), "" when unknown
    raw_carrier: str = ""


@dataclass(slots=True)
class Order:
    """A platform order, with or without waybills."""

    provider: str
    account: str
    order_id: str
    status: Status  # awaiting_shipment, cancelled, or the fallback when shipped
    raw_status: str = ""
    shop: str = ""
    title: str = ""
    quantity: int = 0
    price_cents: int | None = None
    currency: str = "CNY"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    promised_ship_at: datetime | None = None
    waybills: list[Waybill] = field(default_factory=list)
    #: When the platform itself returns a trace (Taobao), keyed by waybill number.
    traces: dict[str, list[TrackingEvent]] = field(default_factory=dict)


@dataclass(slots=True)
class TokenSet:
    """OAuth tokens of one linked account. Lives only in the secret store."""

    access_token: str
    refresh_token: str = ""
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    open_id: str = ""
    scopes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "access_expires_at": _iso(self.access_expires_at),
            "refresh_expires_at": _iso(self.refresh_expires_at),
            "open_id": self.open_id,
            "scopes": list(self.scopes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TokenSet:
        scopes = data.get("scopes") or []
        return cls(
            access_token=str(data.get("access_token") or ""),
            refresh_token=str(data.get("refresh_token") or ""),
            access_expires_at=_parse_iso(data.get("access_expires_at")),
            refresh_expires_at=_parse_iso(data.get("refresh_expires_at")),
            open_id=str(data.get("open_id") or ""),
            scopes=[str(s) for s in scopes] if isinstance(scopes, list) else [],
        )

    def __repr__(self) -> str:  # never leak tokens through repr()/tracebacks
        return f"TokenSet(open_id={self.open_id!r}, access_expires_at={self.access_expires_at!r})"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
