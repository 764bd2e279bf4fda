"""A small world for the reliability tests: sandboxes that share one dataset, homes that
are configured and linked in-process (fast), and content snapshots that ignore what is
legitimately time-dependent.

Only the thing under test runs as a real ``parcelctl`` subprocess; building the world in
process keeps the whole suite within its time budget.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from parcelctl.sandbox import dataset as ds
from parcelctl.sandbox.server import RunningSandbox, Sandbox

#: Parcels per tracking provider, chosen to cover every kind of answer: delivered (never
#: polled again), active with events, exception, and "no information yet".
PARCELS: dict[str, list[tuple[str, str]]] = {
    "kuaidi100": [("YT6247854916511", "yuantong"), ("3950055201640", "yunda"),
                  ("YT9100000000017", "yuantong"), ("YT0000000000000", "yuantong")],
    "17track": [("RB123456785CN", ""), ("JDVA11408814483", ""), ("NOINFO0000017", "")],
    "cainiao": [("LP00123456789012", ""), ("LP00000000000000", ""), ("LP00999999999999", "")],
}
TRACKERS = ("kuaidi100", "17track", "cainiao")

_DATASET: ds.Dataset | None = None


def shared_dataset() -> ds.Dataset:
    """One dataset (one epoch) for every sandbox of the session: same content everywhere."""
    global _DATASET
    if _DATASET is None:
        # Half the default shop: every order kind is still there (i % 6), fewer requests.
        _DATASET = ds.build(orders=12)
    return _DATASET


def new_sandbox(**kwargs: Any) -> RunningSandbox:
    sandbox = Sandbox(**kwargs)
    data = shared_dataset()
    sandbox.dataset = data
    for service in sandbox.services.values():
        service.dataset = data
    # Clients that time out or get killed leave broken pipes behind: the sandbox server
    # itself stays quiet about clients that went away (and still reports its own bugs).
    return RunningSandbox(sandbox).start()


def control(running: RunningSandbox, path: str, body: dict[str, Any] | None = None) -> Any:
    return httpx.post(f"{running.base_url}/_sandbox/{path}", json=body or {}, timeout=10).json()


def fault(running: RunningSandbox, service: str, kind: str, *, endpoint: str | None = None,
          count: int | None = None, seconds: float | None = None, size: int | None = None
          ) -> None:
    body: dict[str, Any] = {"service": service, "kind": kind}
    if size is not None:
        body["size"] = size
    if endpoint is not None:
        body["endpoint"] = endpoint
    if count is not None:
        body["count"] = count
    if seconds is not None:
        body["seconds"] = seconds
    assert control(running, "faults", body) == {"ok": True}


def clear_faults(running: RunningSandbox) -> None:
    httpx.delete(f"{running.base_url}/_sandbox/faults", timeout=10)


def refresh_token_alive(running: RunningSandbox, token: str) -> bool:
    """Would the sandbox's Kuaishou accept this refresh token now?"""
    service: Any = running.sandbox.services["kuaishou"]
    entry = service.refresh.get(token)
    now = running.sandbox.clock.now()
    return bool(entry is not None and not entry.revoked and entry.expires_at > now
                and (entry.dead_at is None or entry.dead_at > now))


def stats(running: RunningSandbox) -> dict[str, Any]:
    return httpx.get(f"{running.base_url}/_sandbox/stats", timeout=10).json()  # type: ignore[no-any-return]


# -- homes --------------------------------------------------------------------------------------

def config_for(home: Path) -> Any:
    from parcelctl.config import Config, Paths

    return Config(Paths(home, home, home))


def configure(home: Path, running: RunningSandbox, names: Iterable[str] = (*TRACKERS, "kuaishou"),
              *, timeout: float = 2.0, extra: dict[str, Any] | None = None) -> None:
    """What ``parcelctl config set`` would write (secrets to secrets.json), in process."""
    config = config_for(home)
    creds = running.sandbox.credentials()
    for name in names:
        for key, value in creds[name].items():
            config.set(f"providers.{name}.{key}", value)
    config.set("providers.tracking.default", "kuaidi100")
    config.set("http.timeout", timeout)
    for key, value in (extra or {}).items():
        config.set(key, value)


def link_kuaishou(home: Path, account: str = "default") -> None:
    """``parcelctl link kuaishou`` with the browser replaced by one GET of the authorize URL."""
    from parcelctl.link import link_account

    def visit(url: str) -> str:
        return httpx.get(url, follow_redirects=False, timeout=10).headers["location"]

    # An explicit Config: nothing here reads PARCELCTL_HOME, so homes can be built in threads.
    link_account("kuaishou", account=account, visit=visit, config=config_for(home))


def add_parcels(home: Path, parcels: dict[str, list[tuple[str, str]]] | None = None,
                label: str = "") -> None:
    """``parcelctl add --no-track`` for every provider's numbers, in one transaction."""
    from parcelctl.store import Store

    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with Store(home / "parcels.db") as store, store.transaction():
        for provider, items in (PARCELS if parcels is None else parcels).items():
            for number, carrier in items:
                store.add_parcel(number, carrier, tracking_provider=provider, label=label,
                                 source=("manual", "", ""))


def synthetic_numbers(count: int) -> list[str]:
    """YTO numbers the sandbox answers with a synthetic timeline (at least one scan each)."""
    return [f"YT{9_300_000_000_000 + i * 7:013d}" for i in range(1, count + 1)]


def add_kuaidi100_parcels(home: Path, numbers: list[str]) -> None:
    """Many untracked Kuaidi100 parcels, in one transaction: enough work to watch a run of
    answers being written."""
    add_parcels(home, {"kuaidi100": [(number, "yuantong") for number in numbers]})


def build_home(home: Path, running: RunningSandbox, *, link: bool = True,
               timeout: float = 2.0, extra: dict[str, Any] | None = None) -> Path:
    configure(home, running, timeout=timeout, extra=extra)
    add_parcels(home)
    if link:
        link_kuaishou(home)
    return home


class HomeFactory:
    """Configured homes with the parcels added, copied from one template per sandbox (the
    configuration is the slow part), then linked afresh (tokens are per home)."""

    def __init__(self, root: Path, *, timeout: float = 10.0,
                 extra: dict[str, Any] | None = None) -> None:
        self.root = root
        self.timeout = timeout
        self.extra = extra
        self._templates: dict[int, Path] = {}
        self._lock = threading.Lock()

    def template(self, running: RunningSandbox) -> Path:
        with self._lock:
            found = self._templates.get(running.port)
            if found is None:
                found = self.root / f"template-{running.port}"
                configure(found, running, timeout=self.timeout, extra=self.extra)
                add_parcels(found)
                self._templates[running.port] = found
            return found

    def make(self, home: Path, running: RunningSandbox, *, link: bool = True,
             timeout: float | None = None) -> Path:
        shutil.copytree(self.template(running), home)
        if timeout is not None:
            config_for(home).set("http.timeout", timeout)
        if link:
            link_kuaishou(home)
        return home


# -- running the CLI ------------------------------------------------------------------------

def cli(home: Path, *args: str, timeout: float = 60, input: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update({"PARCELCTL_HOME": str(home), "PARCELCTL_SECRETS": "file", "NO_COLOR": "1"})
    full.pop("PARCELCTL_DEBUG", None)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "parcelctl", *args], capture_output=True,
                          text=True, env=full, timeout=timeout, input=input)


def popen(home: Path, *args: str, env: dict[str, str] | None = None,
          launcher: list[str] | None = None) -> subprocess.Popen[str]:
    full = dict(os.environ)
    full.update({"PARCELCTL_HOME": str(home), "PARCELCTL_SECRETS": "file", "NO_COLOR": "1"})
    full.pop("PARCELCTL_DEBUG", None)
    full.update(env or {})
    command = launcher or [sys.executable, "-m", "parcelctl"]
    return subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=full)


# -- content snapshots ------------------------------------------------------------------------

#: Parcel columns that carry meaning; times of *our* bookkeeping (updated_at, checked_at,
#: next_check_at, created_at) are deliberately left out.
CONTENT_COLUMNS = ("carrier", "number", "kind", "status", "raw_status", "title", "label",
                   "tracking_provider", "pickup_code", "last_event_time", "last_event_desc",
                   "last_event_loc", "archived", "last_error", "shop", "quantity",
                   "price_cents", "order_time", "promised_ship_at")


def connect(home: Path) -> sqlite3.Connection:
    db = sqlite3.connect(home / "parcels.db", timeout=30)
    db.row_factory = sqlite3.Row
    return db


def parcel_content(db: sqlite3.Connection, where: str = "1", args: tuple[Any, ...] = ()
                   ) -> dict[tuple[str, str], dict[str, Any]]:
    """(carrier, number) -> meaningful columns + events + sources."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in db.execute(f"SELECT * FROM parcels WHERE {where}", args):
        pid = row["id"]
        events = sorted(tuple(e) for e in db.execute(
            "SELECT key, time_utc, time, description, location, status, raw_code FROM events"
            " WHERE parcel_id=?", (pid,)))
        sources = sorted(tuple(s) for s in db.execute(
            "SELECT provider, account, order_id FROM sources WHERE parcel_id=?", (pid,)))
        found[(row["carrier"], row["number"])] = (
            {c: row[c] for c in CONTENT_COLUMNS} | {"events": events, "sources": sources})
    return found


def raw_rows(db: sqlite3.Connection, provider: str) -> dict[str, Any]:
    """Every column of a provider's parcels and their events: for "unchanged" checks."""
    parcels = [tuple(r) for r in db.execute(
        "SELECT * FROM parcels WHERE tracking_provider=? ORDER BY id", (provider,))]
    events = [tuple(r) for r in db.execute(
        "SELECT e.* FROM events e JOIN parcels p ON p.id = e.parcel_id"
        " WHERE p.tracking_provider=? ORDER BY e.id", (provider,))]
    return {"parcels": parcels, "events": events}


def account_parcels(db: sqlite3.Connection, provider: str) -> dict[str, Any]:
    """Every parcel that came from a platform account (all columns) and its events."""
    ids = [r[0] for r in db.execute(
        "SELECT DISTINCT parcel_id FROM sources WHERE provider=? ORDER BY parcel_id",
        (provider,))]
    marks = ",".join("?" * len(ids))
    parcels = [tuple(r) for r in db.execute(
        f"SELECT * FROM parcels WHERE id IN ({marks}) ORDER BY id", ids)]
    events = [tuple(r) for r in db.execute(
        f"SELECT * FROM events WHERE parcel_id IN ({marks}) ORDER BY id", ids)]
    return {"ids": ids, "parcels": parcels, "events": events}


def list_all_json(home: Path) -> str:
    """Exactly what ``parcelctl list --all --json`` prints (the same function), in process."""
    from parcelctl import views
    from parcelctl.store import Store

    parts: list[str] = []
    with Store(home / "parcels.db", readonly=True) as store:
        views.stream_all_json(store.db, parts.append, status=None, attention=False)
    return "".join(parts)


def normalized_list(stdout: str) -> list[dict[str, Any]]:
    """``list --all --json`` without our own bookkeeping times, in a stable order."""
    items = json.loads(stdout)
    for item in items:
        item.pop("updated_at", None)
        item.pop("next_check_at", None)
    return sorted(items, key=lambda p: (p["tracking_number"] or "", p["carrier"] or "",
                                        json.dumps(p["sources"], sort_keys=True)))


@dataclass
class Reference:
    """What a home that never saw a fault looks like after one sync."""

    listing: list[dict[str, Any]]
    content: dict[tuple[str, str], dict[str, Any]]


def reference(home: Path, running: RunningSandbox, *, link: bool = True,
              timeout: float = 5.0) -> Reference:
    build_home(home, running, link=link, timeout=timeout)
    result = cli(home, "sync")
    assert result.returncode == 0, result.stderr
    listing = cli(home, "list", "--all", "--json")
    assert listing.returncode == 0, listing.stderr
    assert normalized_list(list_all_json(home)) == normalized_list(listing.stdout)
    with connect(home) as db:
        content = parcel_content(db)
    return Reference(normalized_list(listing.stdout), content)
