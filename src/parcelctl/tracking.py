"""``parcelctl add``: validate numbers, decide the carrier, store, then track right away."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import carriers
from .config import Config
from .errors import PhoneRequired, UsageError
from .models import CarrierCandidate
from .services import as_tracking, make_provider, settings_for, tracking_provider_name
from .store import Store

_CARRIER_CODE = re.compile(r"^[a-z0-9_]{2,40}$")
_PHONE = re.compile(r"^\d{4,20}$")


@dataclass(slots=True)
class NewParcel:
    number: str
    carrier: str = ""
    guessed: bool = False


def parse_stdin_lines(lines: list[str]) -> list[tuple[str, str | None]]:
    """``NUMBER [CARRIER]`` per line; blank lines and ``#`` comments are skipped."""
    return [(number, carrier) for _, number, carrier in parse_lines(lines)]


def parse_lines(lines: list[str]) -> list[tuple[int, str, str | None]]:
    """(line number, NUMBER, CARRIER or None) per ``NUMBER [CARRIER]`` line."""
    items: list[tuple[int, str, str | None]] = []
    for lineno, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split()
        if len(parts) > 2:
            raise UsageError(f"line {lineno}: expected 'NUMBER [CARRIER]', got {text[:60]!r}")
        items.append((lineno, parts[0], parts[1] if len(parts) == 2 else None))
    if not items:
        raise UsageError("no tracking numbers on standard input",
                         hint="give one 'NUMBER [CARRIER]' per line")
    return items


def check_carrier_code(code: str) -> str:
    """A carrier code parcelctl knows (``parcelctl carriers``), lower-cased; an unknown one
    is refused before anything is stored, with the nearest known code suggested."""
    code = code.strip().lower()
    shown = code if code.isprintable() else code.encode("unicode_escape").decode()
    if not _CARRIER_CODE.match(code):
        raise UsageError(f"'{shown[:40]}' is not a carrier code",
                         hint="run 'parcelctl carriers' to see the codes")
    if not carriers.is_known(code):
        near = carriers.nearest(code)
        raise UsageError(f"unknown carrier code '{code}'"
                         + (f" (did you mean {near}?)" if near else ""),
                         hint="run 'parcelctl carriers' to see the codes")
    return code


def check_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    phone = phone.strip().replace("-", "").replace(" ", "")
    if phone.isascii() and phone.isdigit() and len(phone) < 4:
        raise UsageError(f"--phone needs the last 4 digits (or the whole number), "
                         f"got {len(phone)} digit{'s' if len(phone) != 1 else ''}")
    if not _PHONE.match(phone):
        raise UsageError("--phone takes digits only: the full phone number or its last 4 digits")
    return phone


#: (shortest, longest) number each tracking provider takes. Kuaidi100: ``num`` is 6-32
#: characters (kuaidi100.md §2.2); 17TRACK: 5-50 (17track.md). Cainiao documents nothing;
#: every number shape in tracking-numbers.md §1 has at least 8 characters (Deppon's oldest),
#: so a shorter one is a typo, not a parcel [CONS].
NUMBER_LENGTHS: dict[str, tuple[int, int]] = {
    "kuaidi100": (6, 32), "17track": (5, 50), "cainiao": (8, 40)}


def check_length(number: str, provider_name: str) -> None:
    shortest, longest = NUMBER_LENGTHS.get(provider_name, (5, 40))
    if not shortest <= len(number) <= longest:
        which = "short" if len(number) < shortest else "long"
        raise UsageError(f"{number} is too {which} for {provider_name}: it takes "
                         f"{shortest}–{longest} characters",
                         hint="check the number, or pick another --provider")


async def resolve_carrier(config: Config, provider_name: str, number: str,
                          explicit: str | None) -> NewParcel:
    """``--carrier`` wins; else the provider's own detection; else the local hint table."""
    if explicit:
        return NewParcel(number, check_carrier_code(explicit))
    if _detects_remotely(config, provider_name):
        return await _detect(config, provider_name, number)
    return _resolve_locally(provider_name, number)


def _detects_remotely(config: Config, provider_name: str) -> bool:
    return provider_name == "kuaidi100" and bool(settings_for(config, "kuaidi100").get("key"))


async def _detect(config: Config, provider_name: str, number: str) -> NewParcel:
    candidates: list[CarrierCandidate] = []
    provider, http = make_provider(config, provider_name)
    from .boundary import call

    try:
        # Whatever the service's answer raises is its error (boundary).
        candidates = await call(provider_name, as_tracking(provider).detect_carrier(number))
    finally:
        await http.aclose()
    codes = list(dict.fromkeys(c.code for c in candidates))
    local = carriers.hint(number)
    # kuaidi100's own detection wins (tracking-numbers.md: the local table is only a
    # hint): the local table may confirm its best match, or pick among its candidates
    # when its pattern is unambiguous. A low-confidence hint that picked a later
    # candidate stored a wrong carrier, and every paid poll then answered "no result".
    if codes and local and (local.code == codes[0]
                            or (local.confidence == "high" and local.code in codes)):
        return NewParcel(number, local.code)
    if len(codes) == 1:
        return NewParcel(number, codes[0])
    if codes:  # never guessed: a wrong carrier costs a paid query on every poll
        shown = ", ".join(f"{c} ({carriers.carrier_label(c)})" for c in codes[:5])
        raise UsageError(f"{number} could belong to several carriers, kuaidi100's best "
                         f"match first: {shown}",
                         hint=f"pick one: parcelctl add {number} --carrier CODE")
    return _resolve_locally(provider_name, number)


def _resolve_locally(provider_name: str, number: str) -> NewParcel:
    code, confidence = carriers.hint_code(number)
    if confidence in ("high", "medium"):
        return NewParcel(number, code, guessed=confidence != "high")
    if provider_name == "kuaidi100":
        guess = f" (looks like {code}, a low-confidence guess)" if code else ""
        raise UsageError(f"cannot tell the carrier of {number}{guess}",
                         hint=f"run: parcelctl add {number} --carrier CODE "
                              "(parcelctl carriers lists the codes)")
    # 17TRACK and Cainiao detect carriers themselves; keep a low-confidence hint out of the key.
    return NewParcel(number, "")


def _phone_rule(config: Config, provider_name: str) -> tuple[frozenset[str], bool]:
    """(carriers that need a phone, a default phone is configured) for ``provider_name``."""
    if provider_name != "kuaidi100":
        return frozenset(), False
    settings = settings_for(config, "kuaidi100")
    needs = settings.get("phone_carriers") or ["shunfeng", "shunfengkuaiyun", "zhongtong"]
    return frozenset(str(c) for c in needs), bool(settings.get("phone"))


def check_phone_needed(config: Config, provider_name: str, parcel: NewParcel,
                       phone: str | None) -> None:
    needs, configured = _phone_rule(config, provider_name)
    _check_phone(needs, configured, parcel, phone)


def _check_phone(needs: frozenset[str], configured: bool, parcel: NewParcel,
                 phone: str | None) -> None:
    if parcel.carrier in needs and not (phone or configured):
        raise PhoneRequired(
            f"{parcel.number}: {carriers.carrier_label(parcel.carrier)} only answers with the "
            "recipient's phone number",
            provider="kuaidi100",
            hint=f"run: parcelctl add {parcel.number} --phone LAST4",
        )


@dataclass(slots=True)
class Entry:
    """One number to add, as given: ``line`` is its line on standard input (None for an
    argument), so that a refusal can say where it is."""

    raw: str
    carrier: str | None = None
    line: int | None = None


def prepare(config: Config, provider_name: str, entries: list[Entry], phone: str | None
            ) -> tuple[list[NewParcel], int]:
    """Every entry checked and its carrier decided before anything is stored: a number,
    carrier or length the provider would refuse, or a missing phone, is an error naming the
    entry's line. Returns the parcels and how many entries repeated an earlier one."""
    from .errors import ParcelctlError

    needs, configured = _phone_rule(config, provider_name)
    remote = _detects_remotely(config, provider_name)
    parcels: list[NewParcel] = []
    detect: list[tuple[int, Entry, str]] = []  # (index in parcels, entry, number)
    for entry in entries:
        try:
            number = carriers.validate_number(entry.raw)
            check_length(number, provider_name)
            if entry.carrier:
                parcels.append(NewParcel(number, check_carrier_code(entry.carrier)))
            elif remote:
                detect.append((len(parcels), entry, number))
                parcels.append(NewParcel(number))
            else:
                parcels.append(_resolve_locally(provider_name, number))
        except ParcelctlError as exc:
            raise _at_line(exc, entry.line) from None
    if detect:
        import asyncio

        async def detect_all() -> None:
            for index, entry, number in detect:
                try:
                    parcels[index] = await _detect(config, provider_name, number)
                except ParcelctlError as exc:
                    raise _at_line(exc, entry.line) from None

        asyncio.run(detect_all())
    unique: dict[tuple[str, str], NewParcel] = {}
    for parcel, entry in zip(parcels, entries, strict=True):
        try:
            _check_phone(needs, configured, parcel, phone)
        except ParcelctlError as exc:
            raise _at_line(exc, entry.line) from None
        unique.setdefault((parcel.carrier, parcel.number), parcel)
    return list(unique.values()), len(parcels) - len(unique)


def _at_line(exc: Exception, line: int | None) -> Exception:
    """``exc`` with "line N: " in front of its message (standard input only)."""
    from .errors import ParcelctlError

    if line is None or not isinstance(exc, ParcelctlError):
        return exc
    again = type(exc).__new__(type(exc))
    where = f"line {line}: " + (f"{exc.provider}: " if exc.provider else "")
    ParcelctlError.__init__(again, where + exc.message, hint=exc.hint)
    return again


def store_new(store: Store, parcels: list[NewParcel], *, provider_name: str, label: str,
              phone: str | None) -> list[tuple[int, bool]]:
    """All numbers in one transaction: a bad line stores none of them. Returns (parcel id,
    created) per parcel, in order.

    Numbers the store has never seen (all of them, in a bulk add) go in with two
    ``executemany`` calls; a number it has goes through ``Store.add_parcel``, which merges
    (one merge at a time: 100,000 of them took 11 s)."""
    import json

    from .store import now_iso

    with store.transaction() as db:
        seen = {str(n) for (n,) in db.execute(
            "SELECT DISTINCT number FROM parcels WHERE number IN"
            " (SELECT value FROM json_each(?))", (json.dumps([p.number for p in parcels]),))}
        # A number given twice is fresh once; the second goes through add_parcel's merge.
        first = {p.number: index for index, p in reversed(list(enumerate(parcels)))}
        fresh = [p for index, p in enumerate(parcels)
                 if p.number not in seen and first[p.number] == index]
        now = now_iso()
        last = db.execute("SELECT coalesce(max(id), 0) FROM parcels").fetchone()[0]
        db.executemany(
            "INSERT INTO parcels (carrier, number, kind, status, title, label, phone,"
            " tracking_provider, created_at, updated_at, next_check_at)"
            " VALUES (?,?,'waybill','unknown','',?,?,?,?,?,?)",
            [(p.carrier, p.number, label, phone, provider_name, now, now, now) for p in fresh])
        # Inside this transaction nobody else inserts: rowids above the old maximum are
        # exactly ours, in order (INTEGER PRIMARY KEY without AUTOINCREMENT takes max + 1;
        # Store.import_orders relies on the same).
        ids = {(p.carrier, p.number): last + 1 + i for i, p in enumerate(fresh)}
        if fresh and db.execute("SELECT number FROM parcels WHERE id = ?",
                                (last + len(fresh),)).fetchone()[0] != fresh[-1].number:
            from .errors import StoreError

            raise StoreError("add wrote an unexpected set of parcels",
                             hint="run the same add again; nothing of it was saved")
        # One statement instead of a bound row each: the new rows are exactly those above.
        db.execute("INSERT INTO sources (parcel_id, provider, account, order_id)"
                   " SELECT id, 'manual', '', '' FROM parcels WHERE id > ?", (last,))
        return [(ids[(p.carrier, p.number)], True)
                if p.number not in seen and first[p.number] == index
                else store.add_parcel(p.number, p.carrier, tracking_provider=provider_name,
                                      label=label, phone=phone, source=("manual", "", ""))
                for index, p in enumerate(parcels)]


# What ``add`` reports about the parcels it stored. The ids go to SQLite as one JSON array:
# a bulk add has 100,000 of them, past any limit on bound parameters.
_IDS = "id IN (SELECT value FROM json_each(?))"


def added_rows(store: Store, ids: list[int]) -> list[Any]:
    import json

    return store.db.execute(f"SELECT * FROM parcels WHERE {_IDS} ORDER BY id",  # noqa: S608
                            (json.dumps(ids),)).fetchall()


def added_counts(store: Store, ids: list[int]
                 ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(status, count) and (carrier, count) of the parcels, most first."""
    import json

    counts = []
    for column in ("status", "carrier"):
        counts.append([(str(value), int(count)) for value, count in store.db.execute(
            f"SELECT {column}, count(*) AS n FROM parcels WHERE {_IDS}"  # noqa: S608
            f" GROUP BY {column} ORDER BY n DESC, {column}", (json.dumps(ids),))])
    return counts[0], counts[1]


def errors_of(store: Store, ids: list[int], *, limit: int) -> list[tuple[str, str]]:
    """(number, error) of the parcels whose last check failed, at most ``limit``."""
    import json

    return [(str(number), str(error)) for number, error in store.db.execute(
        f"SELECT number, last_error FROM parcels WHERE {_IDS} AND last_error IS NOT NULL"  # noqa: S608
        " ORDER BY id LIMIT ?", (json.dumps(ids), limit))]


__all__ = ["Entry", "NewParcel", "added_counts", "added_rows", "carriers", "check_carrier_code",
           "check_length", "check_phone", "check_phone_needed", "errors_of", "parse_lines",
           "parse_stdin_lines", "prepare", "resolve_carrier", "store_new",
           "tracking_provider_name"]
