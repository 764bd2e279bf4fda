"""The OAuth authorization-code step of ``parcelctl link``, for any platform provider.

Two ways to receive the redirect: a one-shot listener on 127.0.0.1 (the default), or the
user pastes the address the browser was sent to (``--paste``, for remote shells and for
apps whose registered callback is not a loopback address). The ``state`` parameter ties the
answer to this run, so a stray or forged redirect is refused.
"""

from __future__ import annotations

import html
import secrets
import threading
import webbrowser
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import ParcelctlError, UsageError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_RESTART = "start `parcelctl link` again"


class CallbackTimeout(ParcelctlError):
    """The browser never came back to the listener."""


class BadPaste(UsageError):
    """What was pasted is not a redirect address: ``--paste`` asks again."""

#: Tries ``--paste`` gives a paste that is not the redirect address.
PASTE_TRIES = 3


def new_state() -> str:
    """An unguessable value for the ``state`` parameter (CSRF protection)."""
    return secrets.token_urlsafe(24)


def parse_redirect(url: str, expected_state: str) -> str:
    """Return the ``code`` of a redirect URL (full address or bare query string).

    Errors come first: a denial may not echo ``state`` (its format is not always documented).
    """
    text = url.strip()
    parts = urlsplit(text)
    query = parts.query if parts.query or "://" in text else text.lstrip("?")
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    error = params.get("error")
    # A refused or failed authorization is an error of this `link` run (exit 1), not a
    # stored link that went bad (exit 4 is for `sync` finding an expired link).
    if error:
        if error == "access_denied":
            raise UsageError("authorization was refused in the browser",
                             hint=f"{_RESTART} and approve access")
        detail = params.get("error_description", "")
        raise UsageError(
            f"the platform answered error={error}" + (f" ({detail[:100]})" if detail else ""),
            hint=_RESTART)
    if "state" not in params and "://" not in text:
        raise BadPaste("that is not the address the browser was sent to",
                       hint="paste the whole address from the browser's address bar, "
                            "starting with http")
    if not secrets.compare_digest(params.get("state", ""), expected_state):
        raise UsageError("refused: state does not match", hint=_RESTART)
    code = params.get("code", "")
    if not code:
        raise BadPaste("the redirect address has no authorization code",
                       hint="paste the full address the browser was sent to")
    return code


def insecure_urls(settings: Mapping[str, Any]) -> list[str]:
    """Setting names whose URL is plain ``http://`` to a host other than this machine: the
    token exchange sends the app secret and the codes over them unencrypted."""
    found = []
    for key, value in settings.items():
        if not (key.endswith(("_url", "_uri")) and isinstance(value, str)) or key == \
                "redirect_uri":  # the redirect comes back to our own listener
            continue
        parts = urlsplit(value.strip())
        if parts.scheme.lower() == "http" and not _is_loopback(parts.hostname or ""):
            found.append(key)
    return found


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_loopback(redirect_uri: str) -> tuple[str, int, str]:
    """(host, port, path) of a redirect URI the listener can serve, or a UsageError."""
    parts = urlsplit(redirect_uri)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or port is None:
        raise UsageError(
            f"cannot listen for {redirect_uri!r}: only http://127.0.0.1:PORT/… or "
            "http://localhost:PORT/… can be received locally",
            hint="use --paste and paste the address the browser is sent to")
    return parts.hostname or "127.0.0.1", port, parts.path or "/"


class _Server(HTTPServer):
    def __init__(self, port: int, path: str, host: str, state: str | None) -> None:
        self.path = path
        self.host = host
        self.state = state  # None: any answer is taken (the caller checks it)
        self.lock = threading.Lock()
        self.received = threading.Event()
        self.url: str | None = None
        # Loopback only, whatever the URI says: nothing else on the network may answer.
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a client that connects and stays silent must not block the listener

    def do_GET(self) -> None:
        server = self.server
        parts = urlsplit(self.path)
        if parts.path != server.path:  # favicon.ico and friends
            self._page(404, "Not found", "This address is not the parcelctl callback.")
            return
        query = parse_qs(parts.query)
        if not self._ours(query):
            # Not the platform's answer to this run (a stray request, a forged or stale
            # state, an error any web page could send): it must neither use up the
            # one-shot listener nor be told "linked".
            self._page(400, "Not the answer parcelctl is waiting for",
                       "This address is not the authorization parcelctl asked for; parcelctl "
                       "is still waiting for it (Ctrl-C in the terminal stops it).")
            return
        with server.lock:
            if server.url is not None:
                self._page(409, "Already answered",
                           "parcelctl already received an answer; this one is ignored.")
                return
            host, port = server.host, server.server_address[1]
            server.url = f"http://{host}:{port}{self.path}"
        if "error" in query:
            self._page(200, "Authorization not granted",
                       f"The platform answered: {query['error'][0]}. "
                       "Return to the terminal for details.")
        else:
            self._page(200, "Authorization received",
                       "You can close this tab and return to the terminal.")
        server.received.set()

    def _ours(self, query: dict[str, list[str]]) -> bool:
        """A code or an error, with this run's state when the listener knows it. An error
        without it would let any page the browser visits end ``link`` with a fake denial
        (``<img src="http://127.0.0.1:8976/callback?error=x">``)."""
        if "code" not in query and "error" not in query:
            return False
        expected = self.server.state
        return expected is None or secrets.compare_digest(
            query.get("state", [""])[0], expected)

    def _page(self, status: int, title: str, text: str) -> None:
        body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}"
                "</p></body></html>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the query carries the code: never print it


class CallbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the redirect URI's port and path.

    Port 0 picks a free port (tests); :attr:`redirect_uri` is then the address to use.
    """

    def __init__(self, redirect_uri: str, state: str | None = None) -> None:
        host, port, path = check_loopback(redirect_uri)
        try:
            self._server = _Server(port, path, host, state)
        except OSError as exc:
            raise UsageError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})",
                             hint="close the program using that port, or use --paste") from None
        self._closed = False
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="parcelctl-oauth-callback")
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def redirect_uri(self) -> str:
        return f"http://{self._server.host}:{self.address[1]}{self._server.path}"

    def wait(self, timeout: float) -> str:
        """The full redirect URL of the one accepted callback; closes the listener."""
        try:
            if not self._server.received.wait(timeout):
                raise CallbackTimeout(
                    f"no answer from the browser within {timeout:g} s; "
                    "run again, or use --paste")
            assert self._server.url is not None
            return self._server.url
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> CallbackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def obtain_code(authorize_url: str, redirect_uri: str, state: str, *, open_browser: bool,
                paste: bool, timeout: float, read_line: Callable[[], str],
                show: Callable[[str], None]) -> str:
    """Send the user to ``authorize_url`` and return the authorization code.

    ``show`` is called with the bare authorize URL on its own (so it stays copyable);
    instructions come in separate calls.
    """
    if paste:
        show("Open this address in a browser and approve access:")
        show(authorize_url)
        show("Then paste here the full address the browser was sent to "
             f"(it starts with {redirect_uri}):")
        attempt = 0
        while True:
            attempt += 1
            line = read_line()
            try:
                return parse_redirect(line, state)
            except BadPaste as exc:
                if not line or attempt >= PASTE_TRIES:  # end of input, or enough tries
                    raise
                show(f"{exc.render()}. Paste it again (Ctrl-C to stop):")
    with CallbackListener(redirect_uri, state) as listener:
        if open_browser:
            show("Approve access in your browser. If it does not open, visit:")
        else:
            show("Open this address in a browser and approve access:")
        show(authorize_url)
        if not open_browser:
            show(f"parcelctl is waiting for the browser to come back to {redirect_uri} …")
        if open_browser and not _open(authorize_url):
            show("Could not start a browser; open the address above yourself.")
        url = listener.wait(timeout)
    return parse_redirect(url, state)


def _open(url: str) -> bool:
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False
