"""The sandbox's latency is the time from a request's arrival to its answer.

Its own work happens inside that time: the benchmarks compare syncs with a bound made of
latency alone, and a sandbox that added its (single-GIL, 13-windows-at-once) work on top
lengthened every round trip they measured.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from parcelctl.sandbox.server import Fault


def _timed_get(url: str) -> float:
    started = time.monotonic()
    httpx.get(url, timeout=10)
    return time.monotonic() - started


def test_the_sandboxs_own_work_is_inside_the_latency(sandbox: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    service = sandbox.sandbox.services["kuaidi100"]
    handle = service.handle

    def busy(request: Any) -> Any:
        time.sleep(0.2)  # a slow page to compute
        return handle(request)

    monkeypatch.setattr(service, "handle", busy)
    sandbox.sandbox.latency = 0.3
    url = f"{sandbox.base_url}/kuaidi100/poll/query.do"
    assert 0.28 <= _timed_get(url) < 0.45  # not 0.5: the work is part of the 0.3 s


def test_a_slow_fault_comes_on_top_of_the_latency(sandbox: Any) -> None:
    sandbox.sandbox.latency = 0.2
    sandbox.sandbox.add_fault("kuaidi100", Fault("slow", count=1, seconds=0.3))
    url = f"{sandbox.base_url}/kuaidi100/poll/query.do"
    assert 0.48 <= _timed_get(url) < 0.7
    assert 0.18 <= _timed_get(url) < 0.35  # the fault was used up


def test_control_calls_have_no_latency(sandbox: Any) -> None:
    sandbox.sandbox.latency = 0.5
    assert _timed_get(f"{sandbox.base_url}/_sandbox/stats") < 0.3
