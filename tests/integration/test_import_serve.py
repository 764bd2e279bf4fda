"""`parcelctl import --serve`: the endpoint SMS-forwarding apps POST to, over loopback.
Bodies as SmsForwarder sends them (pppscn/SmsForwarder WebhookUtils.kt: a form with from,
content, timestamp by default, or the user's JSON template); texts from pickup-texts.md."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parcelctl.store import Store
from parcelctl.texts.importer import Importer, Report
from parcelctl.texts.inbox import Message
from parcelctl.texts.serve import MAX_BODY, Inbox
from tests.conftest import load_fixture

ROWS = {s["id"]: s["text"] for s in load_fixture("pickup_texts.json")["samples"]}
TOKEN = "test-token-abcdefghijklmnop"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    store = Store(tmp_path / "parcels.db")

    def handle(messages: list[Message]) -> Report:
        return Importer(store, tracking_provider="kuaidi100").run(messages)

    server = Inbox(("127.0.0.1", 0), TOKEN, handle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url, store
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def test_smsforwarder_form_and_json_template(inbox: tuple[str, Store]) -> None:
    url, store = inbox
    form = {"from": "106550000", "content": ROWS[4], "timestamp": "1796606100000"}
    answer = httpx.post(url, data=form, headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["counts"] == {"pickup": 1}
    template = {"from": "1069", "content": ROWS[1], "timestamp": "1796606100000"}
    answer = httpx.post(url, json=template, headers=AUTH)
    assert answer.json()["results"][0]["deadline"] == "2026-12-07T20:30:00+08:00"
    assert httpx.post(url, json=template, headers=AUTH).json()["counts"] == {"duplicate": 1}
    plain = httpx.post(url.removesuffix("import"), content=ROWS[7].encode(),
                       headers=AUTH | {"Content-Type": "text/plain"})
    assert plain.json()["counts"] == {"pickup": 1}
    assert store.db.execute("SELECT count(*) FROM parcels").fetchone()[0] == 3


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-abcdefghijklm", f"Basic {TOKEN}",
                                    f"Bearer {TOKEN}x", "Bearer"])
def test_a_token_is_required(inbox: tuple[str, Store], header: str | None) -> None:
    url, store = inbox
    headers = {"Authorization": header} if header is not None else {}
    answer = httpx.post(url, json={"text": ROWS[4]}, headers=headers)
    assert answer.status_code == 401
    assert store.db.execute("SELECT count(*) FROM parcels").fetchone()[0] == 0


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=15) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_hostile_requests(inbox: tuple[str, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    from parcelctl.texts import serve

    monkeypatch.setattr(serve._Handler, "timeout", 1.0)  # instead of TIMEOUT's 10 s
    url, store = inbox
    big = httpx.post(url, content=b"x" * (MAX_BODY + 1), headers=AUTH)
    assert big.status_code == 413
    assert httpx.get(url, headers=AUTH).status_code == 405
    assert httpx.post(url + "/../../etc", json={}, headers=AUTH).status_code == 404
    assert httpx.post(url, content=b"\xff\xfe\x00bad", headers=AUTH).status_code == 400
    assert httpx.post(url, content=b"[{\"text\": ", headers=AUTH).status_code == 400
    no_length = _raw(url, b"POST /import HTTP/1.0\r\nAuthorization: Bearer " + TOKEN.encode()
                     + b"\r\n\r\n")
    assert no_length.startswith(b"HTTP/1.0 411")
    # a body shorter than it said: the client is cut off after the timeout, nothing stored
    lying = _raw(url, b"POST /import HTTP/1.0\r\nAuthorization: Bearer " + TOKEN.encode()
                 + b"\r\nContent-Length: 50\r\n\r\n{\"text\": 1}")
    assert lying == b""
    # a refused message is refused in the report; the server goes on
    answer = httpx.post(url, json={"text": "啊" * 5000}, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["counts"] == {"refused": 1}
    assert httpx.post(url, json={"text": ROWS[4]}, headers=AUTH).status_code == 200
    assert store.db.execute("SELECT count(*) FROM parcels").fetchone()[0] == 1


def test_the_command_prints_url_and_a_new_token_once(parcelctl_home: Path) -> None:
    def start() -> tuple[subprocess.Popen[str], dict[str, Any]]:
        proc = subprocess.Popen([sys.executable, "-m", "parcelctl", "import", "--serve",
                                 "--port", "0", "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        assert proc.stdout is not None
        return proc, json.loads(proc.stdout.readline())

    proc, first = start()
    try:
        assert first["url"].startswith("http://127.0.0.1:")
        token = first["token"]
        answer = httpx.post(first["url"], json={"text": ROWS[4]},
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["counts"] == {"pickup": 1}
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert token not in err
    proc, second = start()  # the token is kept, and not shown again
    try:
        assert second["token"] is None
        answer = httpx.post(second["url"], json={"text": ROWS[7]},
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    stored = (parcelctl_home / "parcels.db").read_bytes()
    assert token.encode() not in stored
