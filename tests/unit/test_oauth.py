"""The provider-agnostic link flow: state, redirect parsing, one-shot loopback listener."""

from __future__ import annotations

import socket
import threading
import webbrowser
from typing import Any

import httpx
import pytest

from parcelctl import oauth
from parcelctl.errors import ParcelctlError, UsageError
from parcelctl.oauth import CallbackListener, obtain_code, parse_redirect

BASE = "http://127.0.0.1:8976/callback"


def _get(url: str, timeout: float = 5) -> httpx.Response:
    return httpx.get(url, timeout=timeout, trust_env=False)  # never through a proxy


def test_new_state_is_unguessable() -> None:
    states = {oauth.new_state() for _ in range(50)}
    assert len(states) == 50 and all(len(s) >= 30 for s in states)


def test_parse_redirect_returns_code() -> None:
    assert parse_redirect(f"{BASE}?code=abc123&state=s1", "s1") == "abc123"
    assert parse_redirect(f"  {BASE}?state=s1&code=a%2Bb \n", "s1") == "a+b"
    assert parse_redirect("code=xyz&state=s1", "s1") == "xyz"  # a pasted query string


@pytest.mark.parametrize("url", [f"{BASE}?code=abc&state=other", f"{BASE}?code=abc"])
def test_state_mismatch_is_refused(url: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_redirect(url, "s1")
    assert str(info.value) == "refused: state does not match — start `parcelctl link` again"


def test_access_denied_is_a_clear_error() -> None:
    with pytest.raises(UsageError) as info:
        parse_redirect(f"{BASE}?error=access_denied&state=s1", "s1")
    assert "refused in the browser" in str(info.value)
    assert "\n" not in str(info.value)


def test_other_error_names_it() -> None:
    with pytest.raises(UsageError) as info:
        parse_redirect(f"{BASE}?error=invalid_scope&error_description=bad+scope", "s1")
    assert "error=invalid_scope" in str(info.value) and "bad scope" in str(info.value)


def test_missing_code() -> None:
    with pytest.raises(UsageError) as info:
        parse_redirect(f"{BASE}?state=s1", "s1")
    assert "no authorization code" in str(info.value)
    with pytest.raises(UsageError):
        parse_redirect("", "s1")


# -- listener -------------------------------------------------------------------------------
def _listener(path: str = "/callback", host: str = "127.0.0.1") -> CallbackListener:
    return CallbackListener(f"http://{host}:0{path}")


def test_listener_binds_loopback_only() -> None:
    with _listener(host="localhost") as listener:
        host, port = listener.address
        assert host == "127.0.0.1"
        assert listener.redirect_uri == f"http://localhost:{port}/callback"
        # another loopback address of this machine is not served
        with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=1):
            pass


@pytest.mark.parametrize("uri", ["http://0.0.0.0:8976/cb", "http://192.168.1.5:8976/cb",
                                 "https://127.0.0.1:8976/cb", "https://example.com/cb",
                                 "http://127.0.0.1/cb"])
def test_listener_refuses_non_loopback_redirects(uri: str) -> None:
    with pytest.raises(UsageError) as info:
        CallbackListener(uri)
    assert "--paste" in str(info.value)


def test_listener_accepts_exactly_one_callback() -> None:
    listener = _listener()
    base = listener.redirect_uri
    other = _get(base.replace("/callback", "/favicon.ico"))
    assert other.status_code == 404
    first = _get(f"{base}?code=c1&state=s")
    assert first.status_code == 200 and "close this tab" in first.text
    assert "c1" not in first.text
    second = _get(f"{base}?code=c2&state=s")
    assert second.status_code == 409
    assert listener.wait(5) == f"{base}?code=c1&state=s"
    with pytest.raises(httpx.ConnectError):  # closed after the answer
        _get(f"{base}?code=c3&state=s", timeout=2)


def test_a_stray_or_forged_callback_does_not_use_up_the_listener() -> None:
    """A request without a code, or with another run's state, used to consume the one-shot
    listener (the real redirect then failed) and the forged one was told "linked"."""
    listener = CallbackListener("http://127.0.0.1:0/callback", state="s-right")
    base = listener.redirect_uri
    for stray in (f"{base}?foo=bar", f"{base}?code=evil&state=s-wrong", f"{base}?code=x"):
        page = _get(stray)
        assert page.status_code == 400 and "still waiting" in page.text
        assert "received" not in page.text.lower()
    real = _get(f"{base}?code=c1&state=s-right")
    assert real.status_code == 200 and "Authorization received" in real.text
    assert listener.wait(5) == f"{base}?code=c1&state=s-right"


def test_pasting_only_the_code_says_what_to_paste() -> None:
    with pytest.raises(UsageError) as info:
        parse_redirect("c0de-only", "s1")
    assert "not the address" in str(info.value) and "starting with http" in str(info.value)


def test_listener_error_page() -> None:
    listener = _listener()
    page = _get(f"{listener.redirect_uri}?error=access_denied&state=s")
    assert "not granted" in page.text and "access_denied" in page.text
    assert "error=access_denied" in listener.wait(5)


def test_listener_timeout_is_clear() -> None:
    listener = _listener()
    with pytest.raises(oauth.CallbackTimeout) as info:
        listener.wait(0.2)
    assert str(info.value) == \
        "no answer from the browser within 0.2 s; run again, or use --paste"
    with pytest.raises(httpx.ConnectError):
        _get(listener.redirect_uri, timeout=2)


def test_busy_port_is_a_usage_error() -> None:
    with _listener() as listener, pytest.raises(UsageError) as info:
        CallbackListener(listener.redirect_uri)
    assert "--paste" in str(info.value)


# -- obtain_code ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_obtain_code_paste_mode() -> None:
    shown: list[str] = []
    code = obtain_code("https://auth.test/oauth/authorize?x=1", BASE, "s1", open_browser=True,
                       paste=True, timeout=1, read_line=lambda: f"{BASE}?code=pasted&state=s1",
                       show=shown.append)
    assert code == "pasted"
    assert "https://auth.test/oauth/authorize?x=1" in shown


def test_obtain_code_paste_mode_state_mismatch() -> None:
    with pytest.raises(UsageError):
        obtain_code("https://a.test/", BASE, "s1", open_browser=False, paste=True, timeout=1,
                    read_line=lambda: f"{BASE}?code=x&state=evil", show=lambda _: None)


def test_obtain_code_listener_mode_with_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    redirect = f"http://127.0.0.1:{_free_port()}/cb"
    opened: list[str] = []

    def fake_browser(url: str) -> bool:  # the "browser" follows the platform's redirect
        opened.append(url)
        threading.Thread(target=_get, args=(f"{redirect}?code=k1&state=s9",),
                         daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", fake_browser)
    shown: list[str] = []
    code = obtain_code("https://auth.test/go", redirect, "s9", open_browser=True, paste=False,
                       timeout=5, read_line=lambda: "", show=shown.append)
    assert code == "k1" and opened == ["https://auth.test/go"]
    assert "https://auth.test/go" in shown


def test_obtain_code_without_browser_reports_failure_to_open(
        monkeypatch: pytest.MonkeyPatch) -> None:
    redirect = f"http://127.0.0.1:{_free_port()}/cb"
    monkeypatch.setattr(webbrowser, "open", lambda url: False)

    def show(text: str) -> None:
        if text.startswith("Could not"):
            threading.Thread(target=_get, args=(f"{redirect}?code=k2&state=s",),
                             daemon=True).start()

    assert obtain_code("https://a.test/", redirect, "s", open_browser=True, paste=False,
                       timeout=5, read_line=lambda: "", show=show) == "k2"


def test_obtain_code_listener_refuses_remote_redirect_uri() -> None:
    calls: list[Any] = []
    with pytest.raises(UsageError) as info:
        obtain_code("https://a.test/", "https://example.com/cb", "s", open_browser=False,
                    paste=False, timeout=1, read_line=lambda: "", show=calls.append)
    assert "--paste" in str(info.value) and calls == []


def test_obtain_code_times_out() -> None:
    redirect = f"http://127.0.0.1:{_free_port()}/cb"
    with pytest.raises(ParcelctlError) as info:
        obtain_code("https://a.test/", redirect, "s", open_browser=False, paste=False,
                    timeout=0.2, read_line=lambda: "", show=lambda _: None)
    assert "use --paste" in str(info.value)


def test_an_error_callback_without_this_runs_state_does_not_end_the_listener() -> None:
    """Issue 16 item 21: any web page could end `link` with ?error=… (no state)."""
    listener = CallbackListener("http://127.0.0.1:0/callback", state="s-right")
    base = listener.redirect_uri
    for forged in (f"{base}?error=access_denied", f"{base}?error=x&state=s-wrong"):
        page = _get(forged)
        assert page.status_code == 400 and "still waiting" in page.text
    real = _get(f"{base}?code=c1&state=s-right")
    assert real.status_code == 200
    assert listener.wait(5) == f"{base}?code=c1&state=s-right"


@pytest.mark.parametrize(("settings", "flagged"), [
    ({"base_url": "http://api.example.test", "auth_url": "https://a.test"}, ["base_url"]),
    ({"auth_url": "HTTP://10.0.0.5:8080/auth", "token_url": "http://localhost:1/t"},
     ["auth_url"]),
    ({"base_url": "http://127.0.0.1:9/x", "redirect_uri": "http://127.0.0.1:8976/cb"}, []),
    ({"base_url": "http://[::1]:9/x", "token_url": "https://t.test"}, []),
])
def test_plain_http_to_another_machine_is_flagged(settings: dict[str, str],
                                                  flagged: list[str]) -> None:
    assert oauth.insecure_urls(settings) == flagged
