"""Normalized domain objects shared by providers, the store and the CLI.

Providers produce these from remote payloads; nothing here knows a protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

CHINA_TZ = timezone(timedelta(hours=8), "GMT+8")


class Status(StrEnum):
    AWAITING_SHIPMENT = "awaiting_shipment"
    INFO_RECEIVED = "info_received"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def label_zh(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    @property
    def is_final(self) -> bool:
        """Final parcels are never polled again (respect for the remote services)."""
        return self in FINAL_STATUSES


_LABELS: dict[Status, tuple[str, str]] = {
    Status.AWAITING_SHIPMENT: ("待发货", "awaiting shipment"),
    Status.INFO_RECEIVED: ("已发货", "info received"),
    Status.IN_TRANSIT: ("运输中", "in transit"),
    Status.OUT_FOR_DELIVERY: ("派送中", "out for delivery"),
    Status.READY_FOR_PICKUP: ("待取件", "ready for pickup"),
    Status.DELIVERED: ("已签收", "delivered"),
    Status.EXCEPTION: ("异常", "exception"),
    Status.RETURNED: ("已退回", "returned"),
    Status.CANCELLED: ("已取消", "cancelled"),
    Status.UNKNOWN: ("未知", "unknown"),
}

FINAL_STATUSES = frozenset({Status.DELIVERED, Status.RETURNED, Status.CANCELLED})


def normalize_number(raw: str) -> str:
    """Upper-case and drop spaces and dashes (tracking-numbers.md §2)."""
    return "".join(ch for ch in raw.strip().upper() if ch not in " -\t")


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


def utcnow() -> datetime:
    return datetime.now(UTC)
