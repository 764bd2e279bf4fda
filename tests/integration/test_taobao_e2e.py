"""`link taobao` + `sync` through the real CLI against the sandbox, app credentials only.

Issue 15 item 3 (errata T1/T2; ``bububa/opentaobao`` TOP metadata): the shop's orders come
from ``taobao.trades.sold.get`` (``taobao.trades.bought.get`` is answered with code 22, so
nothing used to import), and the waybills are tracked by the tracking provider like every
other platform's, not left at info_received behind Taobao's own trace.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from typing import Any

import httpx
import pytest

from .clihelp import as_json, cli, configure, stats


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def shop(sandbox: Any) -> Any:
    configure(sandbox, "taobao", "kuaidi100")  # credentials and hosts, nothing else
    assert cli("config", "set", "providers.tracking.default", "kuaidi100").returncode == 0
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    assert cli("config", "set", "providers.taobao.redirect_uri", redirect).returncode == 0
    return sandbox


def _link_by_paste() -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen([sys.executable, "-m", "parcelctl", "link", "taobao", "--paste",
                             "--yes"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = ""
    while not url:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        match = re.search(r"https?://\S+/taobao/authorize\S*", line)
        url = match.group(0) if match else ""
    location = httpx.get(url, follow_redirects=False, trust_env=False).headers["location"]
    out, err = proc.communicate(location + "\n", timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_link_sync_imports_orders_and_tracks_their_waybills(shop: Any) -> None:
    linked = _link_by_paste()
    assert linked.returncode == 0, linked.stderr
    sync = cli("sync", "--json", timeout=120)
    assert sync.returncode == 0, sync.stderr
    parcels = as_json(cli("list", "--all", "--json"))
    service = shop.sandbox.services["taobao"]
    mine = [o for _, o in service._mine()]
    seen = {s["order_id"] for p in parcels for s in p["sources"] if s["provider"] == "taobao"}
    assert seen == {str(o.oid) for o in mine}  # every order of the shop
    shipped = [p for p in parcels if p["kind"] == "waybill"]
    numbers = {o.waybills[0][0] for o in mine if o.waybills}
    assert {p["tracking_number"] for p in shipped} == numbers
    # Tracked by the tracking provider, not by "taobao"...
    assert all(p["tracking_provider"] == "kuaidi100" for p in shipped)
    active = {p["tracking_number"] for p in shipped if p["status"] not in (
        "delivered", "cancelled", "returned")}
    [tracking] = [u for u in json.loads(sync.stdout)["providers"] if u["name"] == "kuaidi100"]
    assert active and tracking["items"] == len(active)  # every live waybill was asked for
    polled = {k.split(" ", 1)[1] for k in stats(shop)["numbers"] if k.startswith("kuaidi100 ")}
    assert polled and polled <= numbers
    # ...so they move past "shipped" without the trade closing.
    moving = [p for p in shipped if p["status"] not in ("info_received", "delivered")]
    assert moving
    assert {p["status"] for p in parcels if p["kind"] == "order"} <= {
        "awaiting_shipment", "cancelled"}
    # The Taobao trace is kept as detail on the timeline.
    some = next(p for p in moving if p["sources"])
    shown = as_json(cli("show", some["tracking_number"], "--json"))
    assert shown["events"]
