"""relink.py: "link again" shown before a stored authorization end (Douyin's 14-day
refresh token, errata D4: zsmhub/doudian-sdk api/token_create/response/
token_create_response.go)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parcelctl.relink import relink_warning

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def at(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


def test_no_warning_while_the_end_is_far_or_unknown() -> None:
    assert relink_warning("douyin", "default", at(timedelta(days=14)), NOW) is None
    assert relink_warning("douyin", "default", None, NOW) is None
    assert relink_warning("douyin", "default", "not a time", NOW) is None


def test_link_again_before_the_end() -> None:
    line = relink_warning("douyin", "default", at(timedelta(days=2, hours=1)), NOW)
    assert line is not None
    assert "runs out in 2 days" in line and line.endswith("run: parcelctl link douyin"[5:])
    hours = relink_warning("douyin", "shop2", at(timedelta(hours=5)), NOW)
    assert hours is not None and "in 5 h" in hours
    assert hours.endswith("parcelctl link douyin --account shop2")


def test_after_the_end() -> None:
    line = relink_warning("douyin", "default", at(-timedelta(minutes=1)), NOW)
    assert line is not None and "ran out" in line and "parcelctl link douyin" in line
