"""The status vocabulary and the few helpers every command needs.

Kept apart from :mod:`parcelctl.models`, whose dataclasses cost ~9 ms to build at import:
``list`` and ``show`` import only this (benchmarks: the start-up floor).
"""

from __future__ import annotations

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
    return raw.strip().upper().replace(" ", "").replace("-", "").replace("\t", "")


def utcnow() -> datetime:
    return datetime.now(UTC)
