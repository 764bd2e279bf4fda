"""Issue 16 §1, 5-8 at unit level: the provider boundary, the shared time helpers, the
rate-limit memory after a clock step, and the one sanitiser of every sink.
(The same cases end to end, against the sandbox: tests/reliability/test_hostile_server.py.)"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parcelctl import boundary, textsafe
from parcelctl.errors import ProviderChanged, TransientError
from parcelctl.http import RateLimiter, RedactingFilter
from parcelctl.models import CHINA_TZ, Order, Status, TrackingEvent, TrackResult
from parcelctl.providers import cainiao, taobao
from parcelctl.providers.kuaidi100 import parse as kuaidi100_parse

ANCIENT = "0001-01-01 00:00:00"


@pytest.mark.parametrize("parse", [
    lambda: kuaidi100_parse._parse_time(ANCIENT),
    lambda: taobao.parse_time(ANCIENT, "consign time"),
    lambda: cainiao.parse_event({"timeStr": ANCIENT, "desc": "x", "status": "x"}),
])
def test_year_one_is_the_providers_error(parse: object) -> None:
    """0001-01-01 in UTC+8 parses, then overflows when shifted to UTC (the event key, the
    store): OverflowError out of sync. The shared helper refuses it where it is parsed."""
    with pytest.raises(ProviderChanged, match="out of range"):
        parse()  # type: ignore[operator]


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.mark.parametrize("exc", [RecursionError("deep"), KeyError("x"), OverflowError(),
                                 ValueError("bad"), TypeError("t"), MemoryError()])
def test_anything_out_of_a_provider_is_its_error(exc: Exception) -> None:
    async def track() -> None:
        raise exc

    with pytest.raises(ProviderChanged, match=rf"^plugin: .*\({type(exc).__name__}\)"):
        _run(boundary.call("plugin", track()))


def test_machine_failures_pass_through() -> None:
    async def track() -> None:
        raise PermissionError(13, "read-only")

    with pytest.raises(PermissionError):
        _run(boundary.call("plugin", track()))


def test_pages_guard_the_provider_not_the_consumer() -> None:
    async def source() -> AsyncIterator[list[Order]]:
        yield [Order("p", "a", "1", Status.AWAITING_SHIPMENT)]
        raise RecursionError

    async def consume() -> int:
        seen = 0
        async for page in boundary.pages("shop", source()):
            seen += len(page)
        return seen

    with pytest.raises(ProviderChanged, match="RecursionError"):
        _run(consume())


def test_run_deadline_is_a_one_line_provider_error() -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    async def go() -> None:
        deadline = boundary.Deadline(asyncio.get_running_loop().time() + 0.05, 3.0)
        await boundary.call("kuaidi100", slow(), deadline)

    started = time.monotonic()
    with pytest.raises(TransientError, match=r"kuaidi100: .*deadline of 3s .*sync\.deadline"):
        _run(go())
    assert time.monotonic() - started < 1


def test_events_capped_to_the_newest_and_times_vetted() -> None:
    start = datetime(2025, 1, 1, tzinfo=CHINA_TZ)
    events = [TrackingEvent(start + timedelta(minutes=i), f"scan {i}") for i in range(2000)]
    result = boundary.vet_result("x", TrackResult("N1", "", Status.IN_TRANSIT, events))
    assert len(result.events) == boundary.MAX_EVENTS
    assert min(e.time for e in result.events) == start + timedelta(minutes=1500)
    order = Order("p", "a", "1", Status.AWAITING_SHIPMENT,
                  created_at=datetime(1, 1, 1, tzinfo=CHINA_TZ))
    with pytest.raises(ProviderChanged, match="created_at"):
        boundary.vet_orders("shop", [order])


def test_rate_memory_in_the_future_waits_one_interval_at_most(tmp_path: Path) -> None:
    """A time ahead in ratelimits.json (edited, or the clock stepped back): before, the
    first request waited until then (11 days here)."""
    memory = tmp_path / "ratelimits.json"
    memory.write_text(json.dumps({"17track": time.time() + 1e6}))

    async def go() -> float:
        limiter = RateLimiter(3.0, memory=memory, name="17track")
        started = time.monotonic()
        await asyncio.wait_for(limiter.acquire(), 5)
        return time.monotonic() - started

    assert _run(go()) <= 1.05 / 3.0 + 0.1  # type: ignore[operator]


HOSTILE = "a\x1b[2J\x1b]8;;https://e.example\x07b\x1b]8;;\x07\x9b31m\u202ec\u2066d\u200be\x00"


def test_terminal_text_has_no_controls_bidi_or_zero_width() -> None:
    shown = textsafe.terminal(HOSTILE + "\n\t👨\u200d👩")
    for char in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200b", "\x00"):
        assert char not in shown
    assert shown.endswith("\n\t👨\u200d👩")  # layout and emoji joiners stay
    assert "\n" not in textsafe.log_line("forged\nERROR line")


def test_json_escapes_c1_and_bidi_and_keeps_the_data() -> None:
    encoded = json.dumps({"t": HOSTILE}, ensure_ascii=False)
    assert "\x9b" in encoded  # what json.dumps leaves raw
    safe = textsafe.json_text(encoded)
    for char in ("\x9b", "\u202e", "\u2066", "\u200b"):
        assert char not in safe
    assert json.loads(safe) == {"t": HOSTILE}


def test_print_json_escapes_c1(capsys: pytest.CaptureFixture[str]) -> None:
    from parcelctl.cli.output import print_json

    print_json({"description": "x\x9b31m\u202e"})
    out = capsys.readouterr().out
    assert "\x9b" not in out and "\u202e" not in out and "\\u009b" in out


def test_log_records_are_neutralised() -> None:
    """The log file and --debug share this filter (logfile.attach_log_file, cli.app)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("parcelctl.test_boundary")
    logger.addHandler(handler)
    try:
        logger.warning("kuaidi100 failed: %s", HOSTILE)
        try:
            raise ValueError(HOSTILE)
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    for char in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b"):
        assert char not in written
    assert "\ufffd]8;;https://e.example" in written


def test_times_at_the_edges() -> None:
    from parcelctl.providers.base import checked_time

    assert checked_time(datetime(1970, 1, 1, tzinfo=UTC), "x")
    with pytest.raises(ProviderChanged):
        checked_time(datetime(9999, 12, 31, tzinfo=UTC), "x")
    with pytest.raises(ProviderChanged):
        checked_time(datetime(2025, 1, 1), "x")  # naive


@pytest.mark.parametrize(("key", "bad", "good"), [
    ("http.max_body_mb", [0, 0.5, 2000, float("inf"), float("nan"), "10"], [1, 10, 1024]),
    ("sync.deadline", [0, -5, 1e9, float("inf"), True], [1, 1800, 86400]),
])
def test_limit_settings_have_finite_ranges(key: str, bad: list[object], good: list[object]
                                           ) -> None:
    from parcelctl import config_keys
    from parcelctl.errors import UsageError

    for value in bad:
        with pytest.raises(UsageError, match=key.replace(".", r"\.")):
            config_keys.check(key, value)
    for value in good:
        config_keys.check(key, value)
