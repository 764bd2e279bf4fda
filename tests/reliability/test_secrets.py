"""Issue 5 §5: secrets stay secret.

Known secret values (the Kuaidi100 key, the 17TRACK token, Kuaishou's app and sign secrets,
a webhook secret) plus every OAuth code and token the sandbox ever issued during the test
(it rotates tokens on every sync here) must not appear — not even as a 12-character piece —
in anything parcelctl writes: stdout and stderr of every command (with and without
``--debug``, JSON output, tracebacks of failing commands), the log files, config.toml, or
the SQLite file with its -wal and -shm. Only the secret store holds them, owner-only.

Also: file and directory modes, OAuth ``state`` and redirect checks, the one-shot loopback
listener, and TLS verification that cannot be turned off.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from parcelctl.sandbox import kuaidi100 as sandbox_kuaidi100
from parcelctl.sandbox import kuaishou as sandbox_kuaishou
from parcelctl.sandbox import seventeentrack as sandbox_17track
from parcelctl.sandbox.server import RunningSandbox

from . import world
from .forkcli import ForkCli, Handle

SRC = Path(__file__).resolve().parents[2] / "src" / "parcelctl"
WEBHOOK_SECRET = "whsec-reliability-5b7f1c9e2d"
FIXED_SECRETS = [sandbox_kuaidi100.KEY, sandbox_17track.TOKEN, sandbox_kuaishou.APP_SECRET,
                 sandbox_kuaishou.SIGN_SECRET, WEBHOOK_SECRET]
PIECE = 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def issued_tokens(running: RunningSandbox) -> set[str]:
    service: Any = running.sandbox.services["kuaishou"]
    return {*service.access, *service.refresh, *service.codes}


def pieces(secret: str) -> set[str]:
    """Every PIECE-long substring of the secret's distinctive part."""
    core = re.sub(r"^(ksat_|ksrt_)", "", secret)
    if len(core) <= PIECE:
        return {core}
    return {core[i:i + PIECE] for i in range(len(core) - PIECE + 1)}


def find_leaks(secrets: set[str], texts: dict[str, bytes]) -> list[str]:
    leaks = []
    for secret in secrets:
        for piece in pieces(secret):
            needle = piece.encode()
            for where, blob in texts.items():
                if needle in blob:
                    leaks.append(f"{secret[:6]}… ({piece!r}) in {where}")
    return leaks


def link_by_listener(fork: ForkCli, home: Path, *extra: str, account: str = "default"
                     ) -> Any:
    """`link kuaishou --no-browser` with the sandbox's approval page standing in for a user."""
    handle: Handle = fork.start(home, *extra, "link", "kuaishou", "--no-browser", "--yes",
                                "--account", account, "--timeout", "20")
    url = ""
    deadline = time.monotonic() + 20
    while not url and time.monotonic() < deadline:
        match = re.search(r"https?://\S+/oauth/authorize\S*", handle.stdout_path.read_text()
                          if handle.stdout_path.exists() else "")
        url = match.group(0) if match else ""
        time.sleep(0.02)
    assert url, "no authorize URL printed"
    httpx.get(url, follow_redirects=True, timeout=10)
    return handle.wait(30)


@pytest.fixture
def running() -> Any:
    sandbox = world.new_sandbox()
    yield sandbox
    sandbox.stop()


@pytest.mark.timeout(120)
def test_no_secret_anywhere(running: RunningSandbox, tmp_path: Path) -> None:
    fork = ForkCli()
    try:
        _exercise(fork, running, tmp_path)
    finally:
        fork.close()


def _exercise(fork: ForkCli, running: RunningSandbox, tmp_path: Path) -> None:
    home = tmp_path / "home"
    world.configure(home, running, timeout=5.0, extra={
        "notify.webhook.url": f"{running.base_url}/webhook-sink",
        "notify.webhook.secret": WEBHOOK_SECRET,
        "providers.kuaishou.redirect_uri": f"http://127.0.0.1:{_free_port()}/callback"})
    world.add_parcels(home)
    # Access tokens live one second: every sync below refreshes and rotates.
    world.control(running, "service/kuaishou", {"access_ttl": 1, "refresh_grace_seconds": 5})
    outputs: dict[str, bytes] = {}

    def run(*args: str, codes: tuple[int, ...] = (0,), stdin: str | None = None) -> Any:
        result = fork.run(home, *args, input=stdin, timeout=60)
        assert result.returncode in codes, (args, result.returncode, result.stderr)
        outputs[f"{' '.join(args)} (stdout)"] = result.stdout.encode()
        outputs[f"{' '.join(args)} (stderr)"] = result.stderr.encode()
        return result

    linked = link_by_listener(fork, home)
    assert linked.returncode == 0, linked.stderr
    world.control(running, "service/kuaishou", {"open_id": "f19a7c0000othershop"})
    linked = link_by_listener(fork, home, "--debug", account="shop2")
    assert linked.returncode == 0, linked.stderr
    outputs["link (stdout)"] = linked.stdout.encode()
    outputs["link (stderr)"] = linked.stderr.encode()

    commands: list[tuple[str, ...]] = [
        ("config", "show"), ("config", "show", "--json"),
        ("config", "get", "providers.kuaidi100.key"),
        ("config", "get", "providers.kuaishou.app_secret"),
        ("config", "get", "notify.webhook.secret"),
        ("providers",), ("providers", "--json"), ("accounts",), ("accounts", "--json"),
        ("add", "YT9100000000099"),  # carrier detection sends the key
        ("add", "RB123456785CN", "--provider", "17track", "--json"),
        ("sync",), ("sync", "--json"), ("sync", "--force", "--json"),
        ("list",), ("list", "--json"), ("list", "--all", "--json"), ("list", "--attention"),
        ("show", "YT9100000000099"), ("show", "RB123456785CN", "--json"),
        ("digest",), ("digest", "--json"), ("watch", "--once"),
        ("archive", "YT9100000000099"), ("archive", "YT9100000000099", "--undo"),
    ]
    for debug in ((), ("--debug",)):
        for command in commands:
            run(*debug, *command, codes=(0, 3))
    run("--debug", "digest", "--send", codes=(0, 1, 3))

    # Failures with --debug: garbage where tokens were (the refresh answer and the code
    # exchange cut in half), a rejected key, a broken secret store: tracebacks included.
    world.fault(running, "kuaishou", "truncated", endpoint="refresh_token", count=1)
    run("--debug", "sync", codes=(3, 4))
    world.fault(running, "17track", "wrong_shape", count=3)
    # stored, tracking failed: exit 3 (add's rule since issue 17)
    run("--debug", "add", "RB000000017CN", "--provider", "17track", codes=(3,))
    world.clear_faults(running)
    world.fault(running, "kuaishou", "truncated", endpoint="access_token", count=1)
    failed_link = link_by_listener(fork, home, "--debug", account="shop3")
    assert failed_link.returncode == 1 and "Traceback" in failed_link.stderr
    outputs["failed link (stderr)"] = failed_link.stderr.encode()
    outputs["failed link (stdout)"] = failed_link.stdout.encode()
    run("--debug", "unlink", "kuaishou:shop2")

    secrets_file = home / "secrets.json"
    stored = json.loads(secrets_file.read_text())
    assert sandbox_kuaidi100.KEY in stored.values()  # the store does hold them
    files = {p.name: p.read_bytes() for p in home.iterdir()
             if p.is_file() and not p.name.startswith("secrets.json")}
    assert {"config.toml", "parcels.db", "parcelctl.log"} <= set(files), sorted(files)
    secrets = set(FIXED_SECRETS) | issued_tokens(running)
    assert len(issued_tokens(running)) >= 10
    leaks = find_leaks(secrets, outputs | files)
    assert not leaks, "\n".join(sorted(leaks))

    # Owner-only: the home, the config, the secrets, the database, the log.
    assert home.stat().st_mode & 0o777 == 0o700
    for name in ("config.toml", "secrets.json", "parcels.db", "parcelctl.log"):
        assert (home / name).stat().st_mode & 0o777 == 0o600, name
    for path in home.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path.name  # nothing readable by others


# -- OAuth -------------------------------------------------------------------------------------

def test_state_mismatch_and_errors_are_refused() -> None:
    from parcelctl.errors import UsageError
    from parcelctl.oauth import new_state, parse_redirect

    state = new_state()
    assert len(state) >= 32 and state != new_state()
    assert parse_redirect(f"http://127.0.0.1:1/cb?code=abc&state={state}", state) == "abc"
    for url in (f"http://127.0.0.1:1/cb?code=abc&state={state}x", "http://127.0.0.1:1/cb?code=a",
                f"http://127.0.0.1:1/cb?code=abc&state={state[:-1]}",
                f"http://127.0.0.1:1/cb?state={state}", "code=abc&state=",
                f"http://127.0.0.1:1/cb?error=access_denied&state={state}"):
        with pytest.raises(UsageError):
            parse_redirect(url, state)


@pytest.mark.parametrize("uri", ["http://evil.example:8976/callback", "https://127.0.0.1:8976/cb",
                                 "http://127.0.0.1/callback", "http://0.0.0.0:8976/callback",
                                 "http://127.0.0.1.evil.example:8976/cb", "file:///tmp/x",
                                 "http://[::1]:8976/callback"])
def test_foreign_redirects_cannot_be_listened_for(uri: str) -> None:
    from parcelctl.errors import UsageError
    from parcelctl.oauth import check_loopback

    with pytest.raises(UsageError):
        check_loopback(uri)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_listener_binds_loopback_and_accepts_one_callback(host: str) -> None:
    from parcelctl.oauth import CallbackListener

    with CallbackListener(f"http://{host}:0/callback") as listener:
        bound, port = listener.address
        assert bound == "127.0.0.1"
        # Not reachable through any other address of this machine.
        try:
            others = {str(info[4][0]) for info in socket.getaddrinfo(
                socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
        except OSError:
            others = set()
        for address in others:
            with socket.socket() as sock:
                sock.settimeout(1)
                assert sock.connect_ex((address, port)) != 0, address
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/favicon.ico", timeout=5).status_code == 404
        first = httpx.get(f"{base}/callback?code=first&state=s", timeout=5)
        assert first.status_code == 200
        second = httpx.get(f"{base}/callback?code=second&state=s", timeout=5)
        assert second.status_code == 409
        assert "first" not in first.text and "code" not in first.text.lower().split("<p>")[0]
        url = listener.wait(5)
    assert "code=first" in url
    with pytest.raises(httpx.TransportError):  # closed after the one answer
        httpx.get(f"{base}/callback?code=third&state=s", timeout=2)


# -- TLS ------------------------------------------------------------------------------------------

def test_tls_verification_cannot_be_turned_off() -> None:
    pattern = re.compile(r"verify\s*=\s*(False|0|None)|CERT_NONE|check_hostname\s*=\s*False|"
                         r"_create_unverified_context|PYTHONHTTPSVERIFY")
    offenders = [f"{path.relative_to(SRC)}:{n}" for path in SRC.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []
    from parcelctl.http import HttpClient

    client = HttpClient("test")
    pool: Any = client._lanes[0]._transport._pool  # type: ignore[attr-defined]
    context: ssl.SSLContext = pool._ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    import asyncio

    asyncio.run(client.aclose())


def test_only_an_all_http_provider_skips_the_ca_bundle(parcelctl_home: Path) -> None:
    import asyncio

    from parcelctl.config import Config
    from parcelctl.services import make_provider

    def context(config: Config) -> ssl.SSLContext:
        _, client = make_provider(config, "kuaishou", require_configured=False)
        pool: Any = client._lanes[0]._transport._pool  # type: ignore[attr-defined]
        asyncio.run(client.aclose())
        return pool._ssl_context  # type: ignore[no-any-return]

    config = Config()
    real = context(config)  # the documented https hosts
    assert real.cert_store_stats()["x509_ca"] > 0
    config.set("providers.kuaishou.base_url", "http://127.0.0.1:9")
    assert context(config).cert_store_stats()["x509_ca"] > 0  # auth_url is still https
    config.set("providers.kuaishou.auth_url", "HTTP://127.0.0.1:9")
    local = context(config)
    # Nothing trusted and verification on: a TLS connection through it fails closed.
    assert local.cert_store_stats()["x509_ca"] == 0
    assert local.verify_mode == ssl.CERT_REQUIRED and local.check_hostname


def test_redact_covers_urls_forms_and_json() -> None:
    from parcelctl.http import redact, register_secret

    register_secret("registered-secret-value")
    text = redact('GET /x?key=abc123&sign=F00D&num=1 access_token=zzz {"access_token": '
                  '"ksat_0123456789abcdef", "refresh_token":"ksrt_99" , "app_secret": "s"} '
                  "registered-secret-value")
    for secret in ("abc123", "F00D", "zzz", "ksat_0123456789abcdef", "ksrt_99",
                   "registered-secret-value"):
        assert secret not in text, secret
    assert "num=1" in text
