"""Worlds for the sync benchmarks: a sandbox on 127.0.0.1 and a throwaway parcelctl home.

The sandbox runs in THIS process (a background thread) while the measured ``parcelctl``
runs as a child process, so the two never share an interpreter lock and the benchmark can
read the sandbox's own counters, clock and dataset directly.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from parcelctl.sandbox.server import RunningSandbox, Sandbox

#: Endpoints that ask a tracking provider about parcels (not order lists, not OAuth).
TRACKING_SERVICES = ("kuaidi100", "17track", "cainiao")


@contextmanager
def sandbox(*, orders: int = 24, latency_ms: float = 0.0,
            rates: dict[str, float] | None = None) -> Iterator[RunningSandbox]:
    """A sandbox with ``latency_ms`` added to every request and documented rates enforced.

    ``rates`` sets a rate on services that document none (Cainiao), via their own knob.
    """
    with RunningSandbox(Sandbox(orders=orders)) as running:
        running.sandbox.latency = latency_ms / 1000.0
        for name, rate in (rates or {}).items():
            running.sandbox.services[name].configure({"rate_limit": rate})
        yield running


@contextmanager
def home(prefix: str = "parcelctl-bench-") -> Iterator[Path]:
    """A fresh PARCELCTL_HOME (file secret store), exported to this process and children."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    saved = {k: os.environ.get(k) for k in ("PARCELCTL_HOME", "PARCELCTL_SECRETS", "NO_COLOR")}
    os.environ.update(PARCELCTL_HOME=str(root), PARCELCTL_SECRETS="file", NO_COLOR="1")
    try:
        yield root
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(root, ignore_errors=True)


def configure(running: RunningSandbox, *, tracking_default: str = "kuaidi100",
              extra: dict[str, Any] | None = None) -> None:
    """Point every provider at the sandbox, like ``parcelctl config set`` would."""
    from parcelctl.config import Config

    config = Config()
    values: dict[str, Any] = {}
    for provider, table in running.sandbox.credentials().items():
        for key, value in table.items():
            values[f"providers.{provider}.{key}"] = value
    values["providers.tracking.default"] = tracking_default
    values.update(extra or {})
    secrets = {k: v for k, v in values.items() if _is_secret(k)}
    for key, value in secrets.items():
        config.set(key, value)
    for key, value in values.items():
        if key in secrets:
            continue
        parts = key.split(".")
        node = config.data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    config.save()  # one atomic write for the plain keys


def _is_secret(key: str) -> bool:
    from parcelctl.config import is_secret_key

    return is_secret_key(key)


def add_parcels(numbers: list[str], *, carrier: str, provider: str) -> None:
    """``parcelctl add --no-track`` for many numbers, in one transaction (store API)."""
    from parcelctl.config import Config
    from parcelctl.store import Store

    config = Config()
    config.paths.ensure()
    with Store(config.paths.db_file) as store, store.transaction():
        for number in numbers:
            store.add_parcel(number, carrier, tracking_provider=provider,
                             source=("manual", "", ""))


def link_shop(account: str = "bench-shop") -> None:
    """``parcelctl link kuaishou`` with this process playing the browser (as the demo does)."""
    import httpx

    from parcelctl.link import link_account

    def browser(url: str) -> str:
        response = httpx.get(url, follow_redirects=False, timeout=10)
        return str(response.headers.get("location", ""))

    link_account("kuaishou", account=account, open_browser=False, visit=browser,
                 show=lambda _text: None)


def numbers(kind: str, count: int, start: int = 0) -> list[str]:
    """Valid, unique numbers the sandbox answers for (synthetic timelines)."""
    if kind == "cainiao":
        return [f"LP{30_000_000_000_000 + (start + i) * 13:014d}" for i in range(count)]
    return [f"YT{9_300_000_000_000 + (start + i) * 7:013d}" for i in range(count)]


def requests_by_endpoint(running: RunningSandbox) -> dict[str, int]:
    counts: dict[str, int] = running.sandbox.stats.snapshot()["requests"]
    return counts


def tracking_requests(counts: dict[str, int]) -> int:
    return sum(n for key, n in counts.items() if key.split(" ", 1)[0] in TRACKING_SERVICES)


def order_list_requests(counts: dict[str, int]) -> int:
    return sum(n for key, n in counts.items() if key == "kuaishou order_list")


def kuaishou_chain(running: RunningSandbox, page_size: int = 50) -> tuple[int, int, int]:
    """(longest chain of pages in one window, pages in all windows, windows) of the walks
    the sandbox saw: the work the client had to do, counted from the sandbox's own data."""
    service: Any = running.sandbox.services["kuaishou"]
    now_ms = int(running.sandbox.clock.now().timestamp() * 1000)
    chains = []
    for begin, end, query_type in service.windows:
        count = sum(1 for o in running.sandbox.dataset.orders
                    if begin <= service._ms(o, query_type) < end and service._ms(o, 1) <= now_ms)
        chains.append(max(1, math.ceil(count / page_size)))
    return (max(chains) if chains else 0), sum(chains), len(chains)
