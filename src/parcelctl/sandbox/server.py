"""The sandbox HTTP server: routing, control endpoints, fault injection, latency.

Every service is mounted under its own prefix (``/kuaidi100``, ``/17track``, …) on one
127.0.0.1 port. Control endpoints live under ``/_sandbox``:

* ``GET  /_sandbox/stats``           request counters (per endpoint and per number)
* ``POST /_sandbox/reset``           clear counters and faults
* ``POST /_sandbox/clock``           ``{"advance": seconds}`` moves sandbox time forward
* ``POST /_sandbox/faults``          ``{"service", "endpoint"?, "kind", "count"?, "seconds"?}``
* ``DELETE /_sandbox/faults``        clear all faults
* ``POST /_sandbox/latency``         ``{"ms": 50}`` added to every request
* ``POST /_sandbox/service/NAME``     service-specific settings (``Service.configure``)

Fault kinds: ``http500`` ``http502`` ``http503`` ``429`` ``429_retry_after`` ``hang``
``reset`` ``truncated`` ``html200`` ``wrong_shape`` ``business`` ``slow``; service-specific:
``endless_cursor`` (Kuaishou: every page answers a new cursor, never "nomore"); and the
hostile ones of :mod:`.hostile` (``gzip_lie`` ``drip`` ``nested_json`` ``oversized`` ``bomb``
``ancient_time`` ``event_flood`` ``control_text``; a fault's ``size`` sets their size).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import dataset as ds
from . import hostile
from .base import Clock, Request, Response, Service, Stats, html_response, json_response

#: The kinds the fault matrix runs against every service (each one fails the service).
FAULT_KINDS = ("http500", "http502", "http503", "429", "429_retry_after", "hang", "reset",
               "truncated", "html200", "wrong_shape", "business", "slow", "endless_cursor")
#: Every kind a fault may have: those, and the hostile-server ones (tests/reliability/
#: test_hostile_server.py; some of them are survived, not failed: a flood of events).
ALL_KINDS = (*FAULT_KINDS, *hostile.KINDS)


@dataclass(slots=True)
class Fault:
    kind: str
    endpoint: str | None = None  # None = every endpoint of the service
    count: int | None = None  # None = until cleared
    seconds: float = 30.0  # for hang / slow; drip: between two bytes
    size: int = 0  # hostile kinds: 0 = their default


class Sandbox:
    """The simulated world: dataset, clock, counters, faults and the mounted services."""

    def __init__(self, *, orders: int = 24, seed: int = 7,
                 services: list[str] | None = None, enforce_rate_limits: bool = True) -> None:
        self.dataset = ds.build(orders=orders, seed=seed)
        self.clock = Clock()
        self.stats = Stats()
        self.faults: dict[str, list[Fault]] = {}
        self.latency = 0.0
        self.enforce_rate_limits = enforce_rate_limits
        self._lock = threading.Lock()
        self.services: dict[str, Service] = {}
        for cls in _service_classes(services):
            service = cls(self.dataset, self.clock, self.stats)
            self.services[service.name] = service
        self.base_url = ""

    # -- faults -------------------------------------------------------------------------
    def add_fault(self, service: str, fault: Fault) -> None:
        if fault.kind not in ALL_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        with self._lock:
            self.faults.setdefault(service, []).append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_fault(self, service: str, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self.faults.get(service, []):
                if fault.endpoint in (None, endpoint):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults[service].remove(fault)
                    return fault
        return None

    # -- config -------------------------------------------------------------------------
    def credentials(self) -> dict[str, dict[str, str]]:
        return {name: svc.credentials(f"{self.base_url}/{name}")
                for name, svc in self.services.items()}

    # -- dispatch -----------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response | None:
        """Route one request. ``None`` means: drop the connection (fault ``reset``).

        With ``latency`` set, a request is answered ``latency`` after it arrived: the
        sandbox's own work happens inside that time, not on top of it. It serves every
        window of an import on one interpreter lock; added on top, its work lengthened
        each round trip the benchmarks measure against a latency-only bound.
        """
        arrived = time.monotonic()
        path = request.path
        if path.startswith("/_sandbox"):
            return self._control(request, path.removeprefix("/_sandbox"))
        response, extra = self._answer(request)
        delay = self.latency + extra  # a "slow" fault comes on top of the latency
        if delay:
            time.sleep(max(0.0, arrived + delay - time.monotonic()))
        return response

    def _answer(self, request: Request) -> tuple[Response | None, float]:
        """(the answer, seconds a fault adds to the latency)."""
        prefix, _, rest = request.path.lstrip("/").partition("/")
        service = self.services.get(prefix)
        if service is None:
            return json_response({"error": f"no simulated service at /{prefix}"}, 404), 0.0
        request.path = "/" + rest
        endpoint = service.endpoint(request)
        self.stats.record(service.name, endpoint)
        fault = self.take_fault(service.name, endpoint)
        extra = 0.0
        if fault is not None:
            if fault.kind != "slow":
                return self._fault_response(fault, service, request), 0.0
            extra = fault.seconds
        if self.enforce_rate_limits and service.window and not service.window.allow():
            return service.throttled(), extra
        return service.handle(request), extra

    def _fault_response(self, fault: Fault, service: Service, request: Request
                        ) -> Response | None:
        kind = fault.kind
        if kind in hostile.KINDS:
            return hostile.apply(kind, service.handle(request), fault.size, fault.seconds)
        if kind.startswith("http5"):
            return html_response(f"<html><body><h1>{kind[4:]} Server Error</h1></body></html>",
                                 int(kind[4:]))
        if kind == "429":
            return service.throttled()
        if kind == "429_retry_after":
            response = service.throttled()
            response.headers["Retry-After"] = "1"
            return response
        if kind == "hang":
            time.sleep(fault.seconds)
            return json_response({"error": "late"}, 504)
        if kind == "reset":
            return None
        if kind == "truncated":
            full = service.handle(request)
            full.body = full.body[: max(1, len(full.body) // 2)]
            return full
        if kind == "html200":
            return html_response("<!DOCTYPE html><html><head><title>系统繁忙</title></head>"
                                 "<body>请稍后再试</body></html>", 200)
        if kind == "wrong_shape":
            return json_response({"unexpected": [1, 2, 3], "data": "surprise"})
        special = service.special_fault(kind, request)
        if special is not None:
            return special
        return service.business_error(request)

    def _control(self, request: Request, path: str) -> Response:
        body: dict[str, Any] = {}
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                return json_response({"error": "bad json"}, 400)
        if path == "/stats":
            return json_response(self.stats.snapshot()
                                 | {"now": self.clock.now().isoformat()})
        if path == "/reset":
            self.stats.reset()
            self.clear_faults()
            return json_response({"ok": True})
        if path == "/clock":
            self.clock.advance(float(body.get("advance", 0)))
            return json_response({"now": self.clock.now().isoformat()})
        if path == "/latency":
            self.latency = float(body.get("ms", 0)) / 1000.0
            return json_response({"ok": True})
        if path.startswith("/service/"):
            service = self.services.get(path.removeprefix("/service/"))
            if service is None:
                return json_response({"error": "no such service"}, 404)
            return json_response(service.configure(body))
        if path == "/faults":
            if request.method == "DELETE":
                self.clear_faults()
                return json_response({"ok": True})
            try:
                self.add_fault(str(body["service"]), Fault(
                    kind=str(body["kind"]), endpoint=body.get("endpoint"),
                    count=body.get("count"), seconds=float(body.get("seconds", 30.0)),
                    size=int(body.get("size", 0))))
            except (KeyError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
            return json_response({"ok": True})
        return json_response({"error": "unknown control endpoint"}, 404)


def _service_classes(names: list[str] | None) -> list[type[Service]]:
    from .registry import SERVICES

    return [cls for name, cls in SERVICES.items() if names is None or name in names]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms
    # to every request on a kept-alive connection.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.sandbox.dispatch(request)
        except Exception as exc:  # a sandbox bug must look like a server error, not hang
            response = json_response({"error": f"sandbox failure: {type(exc).__name__}"}, 500)
        if response is None:
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if response.stream is None:
            self.send_header("Content-Length", str(len(response.body)))
        elif "Content-Length" not in response.headers:
            self.send_header("Transfer-Encoding", "chunked")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if response.stream is None:
            self.wfile.write(response.body)
        else:
            self._stream(response, chunked="Content-Length" not in response.headers)

    def _stream(self, response: Response, *, chunked: bool) -> None:
        """A hostile answer, sent as it is made; ends when the client goes away."""
        assert response.stream is not None
        self.close_connection = True
        try:
            for chunk in response.stream:
                if not chunk:
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                self.wfile.flush()
                if response.pause:
                    time.sleep(response.pause)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client refused the rest: what a hostile-server test wants

    do_GET = _serve
    do_POST = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the demo and tests read their own output


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a client opening 13 connections at once (a
    # shop's windows) had SYNs dropped and retried after a second (benchmarks).
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (Ctrl-C, a timeout, a cancelled request) is normal for a
        server: socketserver would print a traceback for each one."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


#: The port ``parcelctl sandbox serve`` listens on unless told otherwise: the same on every
#: start, so that a home pointed at it (``parcelctl sandbox use``) keeps working.
DEFAULT_PORT = 8970


class RunningSandbox:
    """A sandbox served on 127.0.0.1 in a background thread (context manager)."""

    def __init__(self, sandbox: Sandbox | None = None, port: int = 0) -> None:
        self.sandbox = sandbox or Sandbox()
        self._server = _Server(("127.0.0.1", port), self.sandbox)
        self.port = self._server.server_address[1]
        self.sandbox.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True,
                                        name="parcelctl-sandbox")

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url

    def start(self) -> RunningSandbox:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> RunningSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
