"""Read-side queries and the stable JSON shape of a parcel.

Imported by ``list`` and ``show``: stdlib + store only, so those commands start fast.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .status import Status

# Sources of a page of parcels in one query instead of one per row.
_SOURCES_SQL = ("SELECT parcel_id, provider, account, order_id FROM sources"
                " WHERE parcel_id IN ({}) ORDER BY rowid")

ATTENTION_SQL = """(
    (kind = 'order' AND status = 'awaiting_shipment' AND promised_ship_at IS NOT NULL
        AND promised_ship_at < :now)
    OR (kind IN ('waybill', 'pickup') AND status IN ('exception', 'ready_for_pickup'))
    OR (kind = 'waybill' AND status NOT IN ('delivered', 'returned', 'cancelled')
        AND last_event_utc IS NOT NULL AND last_event_utc < :stale)
    OR (last_error IS NOT NULL)
)"""


def _filters(*, status: str | list[str] | None, attention: bool, active_only: bool,
             stale_days: float, now: datetime, search: Search | None = None
             ) -> tuple[str, dict[str, Any]]:
    """The WHERE clause shared by the paged list and the streamed JSON of every parcel.

    ``status``: one code or several. ``active_only`` with statuses asked for means "not
    archived": ``list --status delivered`` shows delivered parcels without ``--all``."""
    where: list[str] = []
    args: dict[str, Any] = {"now": _iso(now), "stale": _iso(now - timedelta(days=stale_days))}
    statuses = [status] if isinstance(status, str) else list(status or [])
    if active_only:
        where.append("archived = 0" if statuses else "active = 1")
        # A pickup item from a text leaves the lists when it expires (see texts.importer),
        # even before the next import archives it. Written as a NOT IN over the (few) pickup
        # items so that counting 100,000 active parcels stays a walk of their index: the
        # same test on each row read every row (1.4 -> 23 ms at 100,000 active parcels).
        where.append("id NOT IN (SELECT id FROM parcels WHERE kind = 'pickup'"
                     " AND expires_at <= :now)")
    if len(statuses) == 1:
        where.append("status = :status")
        args["status"] = statuses[0]
    elif statuses:
        names = [f":status{n}" for n in range(len(statuses))]
        where.append(f"status IN ({', '.join(names)})")
        args.update({name[1:]: value for name, value in zip(names, statuses, strict=True)})
    if attention:
        where.append(ATTENTION_SQL)
    if search is not None:
        search.where(where, args)
    return (f" WHERE {' AND '.join(where)}" if where else ""), args


def _like(text: str) -> str:
    """``%text%`` for LIKE ... ESCAPE '\\': a % or _ the user typed is matched as itself."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Search:
    """``list QUERY --carrier C --provider P --shop S``: what a parcel must match.

    QUERY is a substring (case-insensitive for ASCII, as SQLite's LIKE) of the number, the
    title, label, shop, pickup code or the last event's text; a number is also matched with
    spaces and dashes dropped (``yt 6247`` finds YT6247854916511). A plain scan: 100,000
    parcels take ~40 ms, and only a search pays it."""

    __slots__ = ("carriers", "provider", "query", "shop")

    def __init__(self, query: str | None = None, *, carriers: list[str] | None = None,
                 provider: str | None = None, shop: str | None = None) -> None:
        self.query = " ".join((query or "").split())
        self.carriers = carriers or []
        self.provider = (provider or "").strip().lower()
        self.shop = (shop or "").strip()

    def __bool__(self) -> bool:
        return bool(self.query or self.carriers or self.provider or self.shop)

    def where(self, where: list[str], args: dict[str, Any]) -> None:
        from .status import normalize_number

        if self.query:
            args["q"] = _like(self.query)
            args["qnum"] = _like(normalize_number(self.query))
            where.append("(" + " OR ".join(
                [f"{column} LIKE :q ESCAPE '\\'" for column in SEARCHED]
                + ["number LIKE :qnum ESCAPE '\\'"]) + ")")
        if self.carriers:
            names = [f":carrier{n}" for n in range(len(self.carriers))]
            args.update({name[1:]: code for name, code in zip(names, self.carriers, strict=True)})
            listed = ", ".join(names)
            # A parcel the Cainiao tracker follows has no carrier of its own (migration
            # "cainiao is not a carrier"); the list shows it as Cainiao, so it matches as one.
            where.append(f"(carrier IN ({listed}) OR (carrier = '' AND kind = 'waybill'"
                         f" AND tracking_provider IN ({listed})))")
        if self.provider:
            args["provider"] = self.provider
            where.append("(tracking_provider = :provider OR id IN"
                         " (SELECT parcel_id FROM sources WHERE provider = :provider))")
        if self.shop:
            args["shop"] = _like(self.shop)
            where.append("(shop LIKE :shop ESCAPE '\\' OR id IN (SELECT parcel_id FROM"
                         " sources WHERE account LIKE :shop ESCAPE '\\'))")


#: The text columns ``list QUERY`` searches (besides the number).
SEARCHED = ("number", "title", "label", "shop", "pickup_code", "station", "last_event_desc")

#: The order of every list: the newest change first, the time the table's age column shows
#: (store.CHANGED_AT; indexed by the migration "list sorted by last change").
ORDER_BY = " ORDER BY coalesce(last_event_utc, updated_at) DESC, id DESC"


#: The columns the parcel table shows (``cli.output``): ``list --all`` of 100,000 parcels
#: holds every row at once, and all 28 columns took twice the memory.
TABLE_COLUMNS = ("id, number, carrier, kind, status, pickup_code, label, title, shop,"
                 " last_event_desc, last_error, last_event_utc, updated_at, archived,"
                 " tracking_provider, station, pickup_deadline")


def list_parcels(db: sqlite3.Connection, *, status: str | list[str] | None = None,
                 attention: bool = False, include_all: bool = False, limit: int | None = 50,
                 stale_days: float = 7.0, now: datetime | None = None,
                 count_up_to: int | None = None, columns: str = "*",
                 search: Search | None = None) -> tuple[list[sqlite3.Row], int]:
    """One page, newest change first (:data:`ORDER_BY`), and the number of rows that
    matched in total.

    ``count_up_to``: stop counting past this many (the total is then ``count_up_to + 1``).
    Counting 100,000 active parcels walks their index: 10 ms of a 0.2 s ``list``.
    ``columns``: ``*``, or :data:`TABLE_COLUMNS` for the table.
    """
    clause, args = _filters(status=status, attention=attention, active_only=not include_all,
                            stale_days=stale_days, now=now or datetime.now(UTC), search=search)
    sql = f"SELECT {columns} FROM parcels{clause}{ORDER_BY}"  # noqa: S608
    if limit is not None:
        sql += " LIMIT :limit"
        args["limit"] = limit
    rows = db.execute(sql, args).fetchall()
    if limit is None or len(rows) < limit:
        # Everything that matched is on the page: no count (a search that finds little
        # scanned the whole table twice).
        return rows, len(rows)
    counted = f"parcels{clause}"
    if count_up_to is not None:
        counted = f"(SELECT 1 FROM parcels{clause} LIMIT :count_cap)"  # noqa: S608
        args["count_cap"] = count_up_to + 1
    total = db.execute(f"SELECT count(*) FROM {counted}", args).fetchone()[0]  # noqa: S608
    return rows, int(total)


def sources_for(db: sqlite3.Connection, ids: list[int]) -> dict[int, list[dict[str, str]]]:
    found: dict[int, list[dict[str, str]]] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        chunk = ids[start:start + 900]
        for row in db.execute(_SOURCES_SQL.format(",".join("?" * len(chunk))), chunk):
            found.setdefault(row[0], []).append(
                {"provider": row[1], "account": row[2], "order_id": row[3]})
    return found


#: status -> (Chinese label, English label); a dict lookup instead of an enum call per row.
_LABELS = {s.value: (s.label_zh, s.label_en) for s in Status}


#: condition -> (Chinese, English) name, wherever a condition is named (notification titles
#: and summaries, ``digest``); cf. :func:`status_label` for statuses.
CONDITION_LABELS = {"overdue": ("超时未发货", "overdue"), "stale": ("长时间无更新", "stuck")}


def status_label(status: str, lang: str = "zh") -> str:
    labels = _LABELS.get(status)
    if labels is None:
        return status
    return labels[0] if lang == "zh" else labels[1]


#: The parcel columns :func:`parcel_json` reads (``list --all --json`` selects only these).
JSON_COLUMNS = ("number", "kind", "carrier", "status", "title", "label", "updated_at",
                "pickup_code", "archived", "tracking_provider", "next_check_at", "last_error",
                "last_event_time", "last_event_desc", "last_event_loc", "shop", "quantity",
                "price_cents", "order_time", "promised_ship_at", "station", "pickup_deadline",
                "pickup_tail", "expires_at")


def parcel_json(row: sqlite3.Row | Mapping[str, Any], sources: list[dict[str, str]],
                lang: str = "zh") -> dict[str, Any]:
    last_event = None
    if row["last_event_time"]:
        last_event = {"time": row["last_event_time"], "description": row["last_event_desc"],
                      "location": row["last_event_loc"] or ""}
    data: dict[str, Any] = {
        "tracking_number": row["number"] if row["kind"] == "waybill" else None,
        "carrier": row["carrier"] or None,
        "status": row["status"],
        "status_label": status_label(row["status"], lang),
        "title": row["title"] or row["label"] or "",
        "label": row["label"] or None,
        "kind": row["kind"],
        "sources": sources,
        "last_event": last_event,
        "updated_at": row["updated_at"],
        "pickup_code": row["pickup_code"],
        "archived": bool(row["archived"]),
        "tracking_provider": row["tracking_provider"] or None,
        "next_check_at": row["next_check_at"],
        "last_error": row["last_error"],
        "station": row["station"],
        "pickup_deadline": row["pickup_deadline"],
    }
    if row["kind"] == "pickup":
        data["pickup"] = {"reference": row["number"], "tail": row["pickup_tail"],
                          "expires_at": row["expires_at"]}
    if row["kind"] == "order" or row["shop"]:
        data["order"] = {
            "id": sources[0]["order_id"] if sources else None,
            "shop": row["shop"] or None,
            "quantity": row["quantity"],
            "price_cents": row["price_cents"],
            "order_time": row["order_time"],
            "promised_ship_at": row["promised_ship_at"],
            "reference": row["number"] if row["kind"] == "order" else None,
        }
    return data


def iter_json(db: sqlite3.Connection, rows: list[sqlite3.Row], lang: str = "zh"
              ) -> Iterator[dict[str, Any]]:
    sources = sources_for(db, [int(r["id"]) for r in rows])
    for row in rows:
        yield parcel_json(row, sources.get(int(row["id"]), []), lang)


def stream_all_json(db: sqlite3.Connection, write: Any, *, status: str | list[str] | None,
                    attention: bool, lang: str = "zh", stale_days: float = 7.0,
                    search: Search | None = None, limit: int | None = None) -> int:
    """``list --all --json`` for any size: rows streamed in pages, never all in memory.
    C1, bidi and zero-width characters are written as escapes (``textsafe.json_text``)."""
    from .textsafe import json_text

    def emit(text: str) -> None:
        write(json_text(text))

    clause, args = _filters(status=status, attention=attention, active_only=False,
                            stale_days=stale_days, now=datetime.now(UTC), search=search)
    # Sources aggregated by SQLite itself: one pass, no per-row query.
    columns = ", ".join(f"p.{name}" for name in JSON_COLUMNS)  # fewer values to convert
    sql = (f"SELECT {columns}, (SELECT json_group_array(json_object('provider', s.provider,"  # noqa: S608
           " 'account', s.account, 'order_id', s.order_id)) FROM sources s"
           f" WHERE s.parcel_id = p.id) AS src FROM parcels p{clause}{ORDER_BY}")
    if limit is not None:
        sql += " LIMIT :limit"
        args["limit"] = limit
    emit("[")
    count = 0
    to_json = row_json_writer(lang)
    cursor = db.cursor()
    cursor.row_factory = None  # plain tuples: sqlite3.Row is slow per key
    cursor.execute(sql, args)
    while True:
        batch = cursor.fetchmany(2000)
        if not batch:
            break
        emit(("," if count else "") + "\n" + ",\n".join(map(to_json, batch)))
        count += len(batch)
    emit("\n]\n")
    return count


SOURCE_KEYS = ("provider", "account", "order_id")


def row_json_writer(lang: str = "zh") -> Callable[[tuple[Any, ...]], str]:
    """A row of ``JSON_COLUMNS`` + the sources as SQLite JSON -> the text of
    ``json.dumps(parcel_json(...), ensure_ascii=False)``, byte for byte.

    ``list --all --json`` spends most of its time turning 100,000 rows into JSON. Building
    each parcel's dict and walking it with the encoder cost ~14 us a row; filling the fixed
    shape with the encoder's own C string escaper ~8.5 us (the whole command: 2.75 s ->
    2.28 s, medians of 8). A property test holds it equal to ``parcel_json`` +
    ``json.dumps`` for any values: the shape has one definition, :func:`parcel_json`.
    """
    import json  # here, not at the top: the table view never needs it
    from json.encoder import encode_basestring as text  # the C escaper json.dumps uses

    encode = _dumps()
    decode = json.JSONDecoder().raw_decode  # SQLite's own JSON: no surrounding whitespace

    def value(x: Any) -> str:
        if type(x) is str:
            return text(x)
        if x is None:
            return "null"
        if type(x) is int:
            return int.__repr__(x)
        return encode(x)  # floats, and anything unexpected: exactly what json.dumps does

    def to_json(row: tuple[Any, ...]) -> str:
        (number, kind, carrier, status, title, label, updated_at, pickup_code, archived,
         tracking_provider, next_check_at, last_error, event_time, event_desc, event_loc,
         shop, quantity, price_cents, order_time, promised_ship_at, station, pickup_deadline,
         pickup_tail, expires_at, src) = row
        sources = decode(src or "[]")[0]
        if type(sources) is list and all(type(s) is dict and tuple(s) == SOURCE_KEYS
                                         for s in sources):
            listed = ", ".join(
                f'{{"provider": {value(s["provider"])}, "account": {value(s["account"])},'
                f' "order_id": {value(s["order_id"])}}}' for s in sources)
        else:  # not what the query builds; let the encoder say it as json.dumps would
            listed = encode(sources)[1:-1]
        event = "null"
        if event_time:
            event = (f'{{"time": {value(event_time)}, "description": {value(event_desc)},'
                     f' "location": {value(event_loc or "")}}}')
        head = (
            f'{{"tracking_number": {value(number) if kind == "waybill" else "null"},'
            f' "carrier": {value(carrier or None)}, "status": {value(status)},'
            f' "status_label": {value(status_label(status, lang))},'
            f' "title": {value(title or label or "")}, "label": {value(label or None)},'
            f' "kind": {value(kind)}, "sources": [{listed}], "last_event": {event},'
            f' "updated_at": {value(updated_at)}, "pickup_code": {value(pickup_code)},'
            f' "archived": {"true" if archived else "false"},'
            f' "tracking_provider": {value(tracking_provider or None)},'
            f' "next_check_at": {value(next_check_at)}, "last_error": {value(last_error)},'
            f' "station": {value(station)}, "pickup_deadline": {value(pickup_deadline)}')
        if kind == "pickup":
            head += (f', "pickup": {{"reference": {value(number)}, "tail": {value(pickup_tail)},'
                     f' "expires_at": {value(expires_at)}}}')
        if kind != "order" and not shop:
            return head + "}"
        order_id = value(sources[0]["order_id"]) if sources else "null"
        return (f'{head}, "order": {{"id": {order_id}, "shop": {value(shop or None)},'
                f' "quantity": {value(quantity)}, "price_cents": {value(price_cents)},'
                f' "order_time": {value(order_time)},'
                f' "promised_ship_at": {value(promised_ship_at)},'
                f' "reference": {value(number) if kind == "order" else "null"}}}}}')

    return to_json


def _dumps() -> Callable[[Any], str]:
    """``json.dumps(obj, ensure_ascii=False)``, same bytes, with the C encoder built once
    instead of once per parcel (a third of the time of a 100,000-parcel dump)."""
    import json
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return lambda obj: json.dumps(obj, ensure_ascii=False)
    fast = make(None, json.JSONEncoder(ensure_ascii=False).default, encoder.encode_basestring,
                None, ": ", ", ", False, False, True)
    return lambda obj: "".join(fast(obj, 0))


def find_parcel(db: sqlite3.Connection, ref: str) -> list[sqlite3.Row]:
    """By number (normalized), by order reference, or by order id."""
    from .status import normalize_number

    # A blank reference matched every parcel added by hand (their order id is ''), and
    # ``rm " "`` removed them: a reference names something, or it is refused.
    if not any(ch.isalnum() for ch in ref):
        from .errors import UsageError

        raise UsageError("a parcel reference cannot be blank",
                         hint="give a tracking number, order reference or order id")
    number = normalize_number(ref)
    # An order reference keeps its dash (KS-2415…): it is shown that way everywhere, and
    # normalizing a tracking number drops dashes.
    typed = "".join(ref.split()).upper()
    rows = db.execute("SELECT * FROM parcels WHERE number IN (?, ?) ORDER BY id",
                      (number, typed)).fetchall()
    if rows:
        return rows
    return db.execute(
        "SELECT p.* FROM parcels p JOIN sources s ON s.parcel_id = p.id WHERE s.order_id = ?"
        " ORDER BY p.id", (ref.strip(),)).fetchall()


def events_json(db: sqlite3.Connection, pid: int) -> list[dict[str, Any]]:
    return [{"time": r["time"], "description": r["description"], "location": r["location"],
             "status": r["status"], "code": r["raw_code"] or None}
            for r in db.execute("SELECT * FROM events WHERE parcel_id = ?"
                                " ORDER BY time_utc DESC, id DESC", (pid,))]


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
