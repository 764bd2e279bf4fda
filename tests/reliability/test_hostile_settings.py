"""Hostile settings (issue 16 items 14-16): a value ``config set`` accepts never crashes a
later command, a value it refuses is refused with one line naming the key, and the same
holds for a hand-edited config.toml.

Property-based over every numeric key (the core ones and each installed provider's)."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcelctl.config import Config, get_paths
from parcelctl.config_keys import _known, check, provider_keys, provider_rule
from parcelctl.errors import ConfigError, UsageError
from parcelctl.providers import registry
from tests.integration.clihelp import assert_one_line_error, cli

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

CORE_NUMERIC = sorted(key for key, rule in _known().items() if rule.numeric)
PROVIDER_NUMERIC = sorted(
    f"providers.{name}.{sub}" for name in registry.names()
    for sub, declared in provider_keys(name).items() if provider_rule(declared).numeric)

NUMBERS = (st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**30, 10**30)
           | st.sampled_from([0, -0.0, 1e6, 1e20, 1e308, float("inf"), -1, 2**63, 0.5]))


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _use(config: Config) -> None:
    """What the commands do with numeric settings: polling, staleness, notify, watch, http."""
    from parcelctl.notify import Settings
    from parcelctl.policy import DEFAULT_MINUTES, Policy
    from parcelctl.services import make_provider

    policy = Policy.from_config(config.get("polling"))
    for status in DEFAULT_MINUTES:
        policy.next_check(status, NOW, provider_min_minutes=30,
                          last_event=NOW - timedelta(days=400))
    assert NOW - timedelta(days=config.number("polling.stale_days", 7.0)) < NOW + timedelta(1)
    Settings.from_config(config)
    minutes = config.get("polling.account_minutes")
    if minutes is not None:
        assert NOW - timedelta(minutes=minutes) <= NOW
    for name in registry.names():
        _, http = make_provider(config, name, require_configured=False)
        asyncio.run(http.aclose())
    for key in CORE_NUMERIC:  # channels read theirs only when configured: read them all
        config.get(key)


@pytest.mark.parametrize("key", CORE_NUMERIC + PROVIDER_NUMERIC)
@SETTINGS
@given(value=NUMBERS)
def test_an_accepted_number_never_crashes_a_command(parcelctl_home: Path, key: str,
                                                     value: Any) -> None:
    try:
        check(key, value)
    except UsageError as exc:
        assert key in exc.message and "\n" not in exc.render()
        # The same value written by hand is refused when read, naming the key.
        config = Config()
        _put(config.data, key, value)
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            _use(config)
        return
    assert math.isfinite(value) and abs(value) <= 1_000_000, (key, value)
    config = Config()
    _put(config.data, key, value)
    _use(config)


def test_every_numeric_key_documents_a_finite_range() -> None:
    from parcelctl.config_keys import reference

    docs = {doc.key: doc for doc in reference()}
    for key in CORE_NUMERIC + PROVIDER_NUMERIC:
        assert " to " in docs[key].type, (key, docs[key].type)
        assert docs[key].help, key


@pytest.mark.parametrize(("key", "value"), [
    ("polling.stale_days", "1e6"), ("polling.min_minutes", "inf"),
    ("notify.backlog_hours", "inf"), ("notify.retry_hours", "1e20"),
    ("polling.stale_minutes", "nan"), ("notify.burst", "1e10"),
])
def test_config_set_refuses_what_would_crash_later(parcelctl_home: Path, key: str, value: str
                                                   ) -> None:
    err = assert_one_line_error(cli("config", "set", key, value))
    assert key in err and "from 0 to" in err


@pytest.mark.parametrize("args", [("list", "--limit", "99999999999999999999"),
                                  ("watch", "--interval", "inf"),
                                  ("watch", "--interval", "1e300")])
def test_options_have_finite_ranges(parcelctl_home: Path, args: tuple[str, ...]) -> None:
    result = cli(*args, timeout=30)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "less than or equal" in result.stderr


@pytest.mark.parametrize(("table", "key"), [
    ("[providers.kuaidi100]\ncustomer = \"C1\"\nphone_carriers = 5\n",
     "providers.kuaidi100.phone_carriers"),
    ("[polling]\nstale_days = 1e6\n", "polling.stale_days"),
    ("[notify]\nretry_hours = 1e20\n", "notify.retry_hours"),
])
def test_a_hand_edited_bad_value_is_one_line_naming_the_key(parcelctl_home: Path, table: str,
                                                            key: str) -> None:
    paths = get_paths()
    paths.ensure()
    paths.config_file.write_text(table, encoding="utf-8")
    assert cli("config", "set", "providers.kuaidi100.key", "K1").returncode == 0
    command = ("add", "SF1234567890123", "--provider", "kuaidi100", "--phone", "1234")
    if not key.startswith("providers."):
        command = ("list",) if "stale" in key else ("digest", "--send")
    err = assert_one_line_error(cli(*command))
    assert key in err
    assert cli("config", "show").returncode == 0  # the way to look at it still works
