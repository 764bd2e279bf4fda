"""Numbered schema migrations, applied in order on every open (``PRAGMA user_version``).

Append only: a released migration is never edited, a new one is added below it.
"""

from __future__ import annotations

#: ``PRAGMA application_id`` marks the file as ours ("PCL1").
APPLICATION_ID = 0x50434C31

MIGRATIONS: list[tuple[str, str]] = [
    ("initial schema", """
CREATE TABLE parcels (
    id INTEGER PRIMARY KEY,
    carrier TEXT NOT NULL DEFAULT '',
    number TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'waybill',          -- 'waybill' | 'order' (paid, not shipped)
    status TEXT NOT NULL DEFAULT 'unknown',
    raw_status TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    phone TEXT,
    tracking_provider TEXT NOT NULL DEFAULT '',
    pickup_code TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,                       -- last change, UTC ISO-8601
    last_event_time TEXT,                           -- ISO-8601 with the event's own offset
    last_event_utc TEXT,                            -- same instant in UTC, for comparisons
    last_event_desc TEXT,
    last_event_loc TEXT,
    checked_at TEXT,
    next_check_at TEXT,
    archived INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    shop TEXT NOT NULL DEFAULT '',
    quantity INTEGER,
    price_cents INTEGER,
    order_time TEXT,
    promised_ship_at TEXT,
    active INTEGER GENERATED ALWAYS AS
        (archived = 0 AND status NOT IN ('delivered', 'cancelled')) STORED,
    UNIQUE (carrier, number)
);
CREATE INDEX parcels_active_updated ON parcels (active, updated_at DESC);
CREATE INDEX parcels_updated ON parcels (updated_at DESC);
CREATE INDEX parcels_number ON parcels (number);
CREATE INDEX parcels_status ON parcels (status, updated_at DESC);
CREATE INDEX parcels_due ON parcels (next_check_at) WHERE active = 1 AND kind = 'waybill';

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    parcel_id INTEGER NOT NULL REFERENCES parcels(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    time_utc TEXT NOT NULL,
    time TEXT NOT NULL,                             -- ISO-8601 with the original offset
    description TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    status TEXT,
    raw_code TEXT NOT NULL DEFAULT '',
    UNIQUE (parcel_id, key)
);
CREATE INDEX events_parcel_time ON events (parcel_id, time_utc DESC);

CREATE TABLE sources (
    parcel_id INTEGER NOT NULL REFERENCES parcels(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    account TEXT NOT NULL DEFAULT '',
    order_id TEXT NOT NULL DEFAULT '',
    UNIQUE (parcel_id, provider, account, order_id)
);
CREATE INDEX sources_account ON sources (provider, account, order_id);

CREATE TABLE accounts (
    provider TEXT NOT NULL,
    account TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    access_expires_at TEXT,
    refresh_expires_at TEXT,
    last_sync_at TEXT,
    sync_since TEXT,                                -- incremental sync watermark
    health TEXT NOT NULL DEFAULT 'ok',
    last_error TEXT,
    PRIMARY KEY (provider, account)
);

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    exit_code INTEGER,
    summary TEXT                                    -- JSON, no secrets
);
"""),
    ("notifications", """
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    parcel_id INTEGER NOT NULL REFERENCES parcels(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                             -- a status, or 'overdue' / 'stale'
    dedupe_key TEXT NOT NULL,
    payload TEXT NOT NULL,                          -- JSON
    created_at TEXT NOT NULL,
    UNIQUE (parcel_id, dedupe_key)
);
CREATE TABLE deliveries (
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    delivered_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (notification_id, channel)
);
CREATE INDEX deliveries_pending ON deliveries (delivered_at) WHERE delivered_at IS NULL;
"""),
    ("list order indexes", """
-- The lists sort by (updated_at DESC, id DESC). With id in the index too, SQLite reads a
-- page straight off the index (LIMIT 50 touches 50 rows) instead of sorting every row that
-- shares an updated_at second; the old two-column indexes become redundant.
CREATE INDEX parcels_active_order ON parcels (active, updated_at DESC, id DESC);
DROP INDEX IF EXISTS parcels_active_updated;
CREATE INDEX parcels_order ON parcels (updated_at DESC, id DESC);
DROP INDEX IF EXISTS parcels_updated;
CREATE INDEX parcels_status_order ON parcels (status, updated_at DESC, id DESC);
DROP INDEX IF EXISTS parcels_status;
-- `show ORDER_ID` looks parcels up by order id alone.
CREATE INDEX sources_order ON sources (order_id);
"""),
    ("cainiao is not a carrier", """
-- The Cainiao tracker once answered with itself as the carrier, and tracking stored that
-- on parcels added without one. "cainiao" there is the service, not a carrier, and it kept
-- the same waybill imported from a shop with its real carrier from matching the parcel by
-- number (only an unknown carrier matches any), so the import made a second parcel. Back to
-- unknown, which is what those parcels were. (A user's own `--carrier cainiao` on a parcel
-- tracked by Cainiao cannot be told apart; that tracker ignores the carrier anyway.)
-- Only where no other parcel has the number: next to an unknown-carrier twin the update
-- would break UNIQUE (carrier, number), and twins that exist already need a person to say
-- which one to keep (`parcelctl rm`), not a guess here.
UPDATE parcels SET carrier = ''
 WHERE carrier = 'cainiao' AND tracking_provider = 'cainiao' AND kind = 'waybill'
   AND NOT EXISTS (SELECT 1 FROM parcels AS twin
                    WHERE twin.number = parcels.number AND twin.id != parcels.id)
"""),
    ("taobao waybills are tracked", """
-- Taobao waybills were tracked only through the shop's own trace (the parcel named the
-- platform as its tracker), so they stayed "info received" until the trade closed when
-- that trace lagged or stopped. They follow the default tracking provider now, like every
-- other platform's waybill (the default tracker, ''); the trace stays as extra detail.
-- Their next check was set when they were imported and never moved, so the ones still on
-- their way are due at once.
UPDATE parcels SET tracking_provider = ''
 WHERE tracking_provider = 'taobao' AND kind = 'waybill'
"""),
    ("list sorted by last change", """
-- The lists show the age of a parcel's newest scan (or, without one, of its last change as
-- stored) and sort by that same time, coalesce(last_event_utc, updated_at) (CHANGED_AT in
-- store.py). Sorted by updated_at they showed 15h, 16h, 7h, 9h: a scan found today of a
-- parcel that moved yesterday stamps updated_at now. Expression indexes keep a page a read
-- of 50 index entries; parcels_order (updated_at) stays for watch's "changed since".
CREATE INDEX parcels_active_changed
    ON parcels (active, coalesce(last_event_utc, updated_at) DESC, id DESC);
DROP INDEX IF EXISTS parcels_active_order;
CREATE INDEX parcels_status_changed
    ON parcels (status, coalesce(last_event_utc, updated_at) DESC, id DESC);
DROP INDEX IF EXISTS parcels_status_order;
CREATE INDEX parcels_changed ON parcels (coalesce(last_event_utc, updated_at) DESC, id DESC);
"""),
    ("texts: pickup items, stations, message fingerprints, tail index", """
-- `parcelctl import`: pickup notices from texts. A parcel waiting at a station gets its
-- station and deadline (China-time ISO-8601 with offset); a notice that matched no parcel is
-- a parcel row of kind 'pickup' (its number PU-<code>), with the waybill tail the text named
-- and when it leaves the lists (deadline or message time + texts.pickup_days).
ALTER TABLE parcels ADD COLUMN station TEXT;
ALTER TABLE parcels ADD COLUMN pickup_deadline TEXT;
ALTER TABLE parcels ADD COLUMN pickup_tail TEXT;
ALTER TABLE parcels ADD COLUMN expires_at TEXT;
-- "尾号6017": a notice names the last digits of a waybill; this finds the candidates without
-- reading every parcel (the importer asks substr(number, -4) = ? AND number LIKE '%' || tail).
CREATE INDEX parcels_tail4 ON parcels (substr(number, -4));
-- A notice repeating a pickup item's tail finds the item without a scan.
CREATE INDEX parcels_pickup_tail ON parcels (pickup_tail) WHERE kind = 'pickup';
-- Texts already imported, by a hash of their normalised text only (never the text): the
-- same message imported twice changes nothing.
CREATE TABLE text_messages (
    fingerprint TEXT PRIMARY KEY,
    imported_at TEXT NOT NULL,
    parcel_id INTEGER REFERENCES parcels(id) ON DELETE SET NULL,
    outcome TEXT NOT NULL
) WITHOUT ROWID
"""),
]
