"""17TRACK code tables (fact sheet protocols/17track.md §2 and §4), each with its source.

Sources: the sheet's tables, from 3SDK clients (``wksw`` Go models) and 17TRACK's public
status documentation; the carrier codes are the few the sheet confirms.
"""

from __future__ import annotations

from ...models import Status

#: parcelctl carrier code (kuaidi100 ``com`` vocabulary) -> 17TRACK carrier code (sheet §2).
DEFAULT_CARRIERS: dict[str, int] = {
    "youzhengguoji": 3011, "dhl": 100001, "ups": 100002, "fedex": 100003, "usps": 21051,
}

#: ``latest_status.status`` (sheet §4).
STATUS_MAP: dict[str, Status] = {
    "NotFound": Status.UNKNOWN,
    "InfoReceived": Status.INFO_RECEIVED,
    "InTransit": Status.IN_TRANSIT,
    "Expired": Status.EXCEPTION,
    "AvailableForPickup": Status.READY_FOR_PICKUP,
    "OutForDelivery": Status.OUT_FOR_DELIVERY,
    "DeliveryFailure": Status.EXCEPTION,
    "Delivered": Status.DELIVERED,
    "Exception": Status.EXCEPTION,
}

#: ``sub_status`` and event ``stage`` (sheet §4); only three differ from their main status.
SUB_STATUS_MAP: dict[str, Status] = {
    sub: STATUS_MAP[sub.partition("_")[0]]
    for sub in (
        "NotFound_Other", "NotFound_InvalidCode", "InfoReceived",
        "InTransit_PickedUp", "InTransit_Other", "InTransit_Departure", "InTransit_Arrival",
        "InTransit_CustomsProcessing", "InTransit_CustomsReleased",
        "InTransit_CustomsRequiringInformation", "Expired_Other", "AvailableForPickup_Other",
        "OutForDelivery_Other", "DeliveryFailure_Other", "DeliveryFailure_NoBody",
        "DeliveryFailure_Security", "DeliveryFailure_Rejected",
        "DeliveryFailure_InvalidAddress", "Delivered_Other", "Exception_Other",
        "Exception_NoBody", "Exception_Security", "Exception_Damage", "Exception_Damaged",
        "Exception_Rejected", "Exception_Delayed", "Exception_Lost", "Exception_Destroyed",
    )
} | {
    "Exception_Returning": Status.RETURNED,
    "Exception_Returned": Status.RETURNED,
    "Exception_Cancel": Status.CANCELLED,
}

#: Sample events carry milestone names (``milestone[].key_stage``) in ``stage`` too.
MILESTONE_MAP: dict[str, Status] = {
    "InfoReceived": Status.INFO_RECEIVED, "PickedUp": Status.IN_TRANSIT,
    "Departure": Status.IN_TRANSIT, "Arrival": Status.IN_TRANSIT,
    "AvailableForPickup": Status.READY_FOR_PICKUP, "OutForDelivery": Status.OUT_FOR_DELIVERY,
    "Delivered": Status.DELIVERED, "Returning": Status.RETURNED, "Returned": Status.RETURNED,
}
EVENT_STAGE_MAP: dict[str, Status] = STATUS_MAP | MILESTONE_MAP | SUB_STATUS_MAP

#: On the way back to the sender (errata Q2: 17TRACK's sub-status tables): ``returned`` but
#: still tracked until Exception_Returned, a delivered scan after it, or polling.stale_days.
RETURNING_STAGES = frozenset({"Exception_Returning", "Returning"})
