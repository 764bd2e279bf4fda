"""``link --no-browser`` and ``--paste`` say what actually happens (issue 17, item 15)."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from parcelctl.errors import UsageError
from parcelctl.oauth import obtain_code

AUTHORIZE = "https://auth.test/oauth/authorize?state=s1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_browser_does_not_say_approve_in_your_browser() -> None:
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    shown: list[str] = []

    def show(text: str) -> None:
        shown.append(text)
        if text == AUTHORIZE:  # the user opens it elsewhere; the platform redirects back
            threading.Timer(0.2, lambda: httpx.get(f"{redirect}?code=c1&state=s1",
                                                   trust_env=False)).start()

    code = obtain_code(AUTHORIZE, redirect, "s1", open_browser=False, paste=False, timeout=10,
                       read_line=lambda: "", show=show)
    assert code == "c1"
    text = "\n".join(shown)
    assert "in your browser" not in text and "If it does not open" not in text
    assert "Open this address in a browser" in text
    assert redirect in text  # where it waits


def test_a_bad_paste_is_asked_again() -> None:
    answers = iter(["c0de-only\n", "\n",
                    "http://127.0.0.1:8976/callback?code=good&state=s1\n"])
    shown: list[str] = []
    code = obtain_code(AUTHORIZE, "http://127.0.0.1:8976/callback", "s1", open_browser=False,
                       paste=True, timeout=1, read_line=lambda: next(answers),
                       show=shown.append)
    assert code == "good"
    assert sum("Paste it again" in line for line in shown) == 2


def test_paste_gives_up_after_three_tries_or_at_end_of_input() -> None:
    answers = iter(["nope\n"] * 5)
    with pytest.raises(UsageError, match="not the address"):
        obtain_code(AUTHORIZE, "http://127.0.0.1:8976/callback", "s1", open_browser=False,
                    paste=True, timeout=1, read_line=lambda: next(answers),
                    show=lambda _: None)
    assert len(list(answers)) == 2  # three read
    with pytest.raises(UsageError):
        obtain_code(AUTHORIZE, "http://127.0.0.1:8976/callback", "s1", open_browser=False,
                    paste=True, timeout=1, read_line=lambda: "", show=lambda _: None)


def test_a_denial_is_not_asked_again() -> None:
    answers = iter(["http://127.0.0.1:8976/callback?error=access_denied&state=s1\n",
                    "http://127.0.0.1:8976/callback?code=late&state=s1\n"])
    with pytest.raises(UsageError, match="refused in the browser"):
        obtain_code(AUTHORIZE, "http://127.0.0.1:8976/callback", "s1", open_browser=False,
                    paste=True, timeout=1, read_line=lambda: next(answers),
                    show=lambda _: None)

