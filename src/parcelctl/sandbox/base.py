"""What every simulated protocol implements, and the shared request/response types."""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from .dataset import Dataset


@dataclass(slots=True)
class Request:
    method: str
    path: str  # below the service's mount point, e.g. "/poll/query.do"
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @property
    def form(self) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return {}
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def params(self) -> dict[str, str]:
        """Query and form parameters together (form wins)."""
        return self.query | self.form

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    #: Sent instead of ``body`` when set, chunk by chunk, ``pause`` seconds apart
    #: (hostile-server faults: drips, bodies too big to build in memory). Chunked
    #: transfer encoding unless ``headers`` declares a Content-Length.
    stream: Iterable[bytes] | None = None
    pause: float = 0.0


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, headers=headers or {})


def html_response(html: str, status: int = 200) -> Response:
    return Response(status, html.encode("utf-8"), "text/html; charset=utf-8")


class Clock:
    """Sandbox time: real time plus an offset that tests and demos can advance."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += timedelta(seconds=seconds)


class Stats:
    """Request counters, per service and endpoint, and per tracked number (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.numbers: Counter[str] = Counter()
        self.number_times: dict[str, list[float]] = defaultdict(list)
        self.times: dict[str, list[float]] = defaultdict(list)

    def record(self, service: str, endpoint: str) -> None:
        with self._lock:
            self.requests[f"{service} {endpoint}"] += 1
            self.times[service].append(time.monotonic())

    def record_number(self, service: str, number: str) -> None:
        with self._lock:
            self.numbers[f"{service} {number}"] += 1
            self.number_times[f"{service} {number}"].append(time.time())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": dict(self.requests), "numbers": dict(self.numbers)}

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.numbers.clear()
            self.number_times.clear()
            self.times.clear()


class SlidingWindow:
    """Enforces a documented rate: at most ``rate`` requests in any one-second window."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._hits and now - self._hits[0] >= 1.0:
                self._hits.popleft()
            if len(self._hits) >= self.rate:
                return False
            self._hits.append(now)
            return True


class Service(ABC):
    """One simulated protocol, mounted at ``/<name>`` on the sandbox server."""

    name: str
    #: Documented requests/second the real service allows; the sandbox enforces it.
    rate_limit: float | None = None

    def __init__(self, dataset: Dataset, clock: Clock, stats: Stats) -> None:
        self.dataset = dataset
        self.clock = clock
        self.stats = stats
        self.window = SlidingWindow(self.rate_limit) if self.rate_limit else None

    def hours_now(self) -> float:
        return (self.clock.now() - self.dataset.epoch).total_seconds() / 3600.0

    @abstractmethod
    def credentials(self, base_url: str) -> dict[str, str]:
        """The provider config table that works against this simulator."""

    @abstractmethod
    def handle(self, request: Request) -> Response: ...

    def endpoint(self, request: Request) -> str:
        """Name used for stats and fault targeting (default: the path)."""
        return request.path

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Service-specific knobs (token lifetimes, grace periods…); returns the current ones."""
        return {}

    def throttled(self) -> Response:
        """The protocol's own answer when ``rate_limit`` is exceeded."""
        return json_response({"error": "too many requests"}, 429)

    def special_fault(self, kind: str, request: Request) -> Response | None:
        """A fault only this protocol has (e.g. Kuaishou's ``endless_cursor``); None = not
        one of this service's."""
        return None

    def business_error(self, request: Request) -> Response:
        """A documented business error of this protocol (fault kind ``business``)."""
        return json_response({"error": "business error"}, 200)
