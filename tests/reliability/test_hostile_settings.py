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
from parcelctl.config_keys import check, known_rules, provider_keys, provider_rule
from parcelctl.errors import ConfigError, UsageError
from parcelctl.providers import registry
from tests.integration.clihelp import assert_one_line_error, cli

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

CORE_NUMERIC = sorted(key for key, rule in known_rules().items() if rule.numeric)
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
    from parcelctl.config_reference import reference

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


# -- item 15: a secrets backend that cannot work ------------------------------------------

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def test_keyring_backend_refused_without_a_keyring(parcelctl_home: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARCELCTL_SECRETS")
    err = assert_one_line_error(cli("config", "set", "secrets.backend", "keyring",
                                    env=NO_KEYRING))
    assert "no usable system keyring" in err and "secrets.backend file" in err
    assert "secrets.backend" not in cli("config", "show", env=NO_KEYRING).stdout


def test_an_unusable_configured_backend_names_the_setting(parcelctl_home: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.delenv("PARCELCTL_SECRETS")
    assert cli("add", "YT6247854916511", "--no-track", env=NO_KEYRING).returncode == 0
    paths = get_paths()
    with paths.config_file.open("a", encoding="utf-8") as handle:
        handle.write('[secrets]\nbackend = "keyring"\n')
    for command in (("list",), ("show", "YT6247854916511"), ("list", "--json")):
        result = cli(*command, env=NO_KEYRING)
        assert result.returncode == 0, (command, result.stderr)
        assert "YT6247854916511" in result.stdout
    shown = cli("config", "show", env=NO_KEYRING)
    assert shown.returncode == 0 and "secrets.backend = keyring" in shown.stdout
    assert "config set secrets.backend file" in shown.stderr
    err = assert_one_line_error(cli("config", "set", "providers.kuaidi100.key", "K1",
                                    env=NO_KEYRING))
    assert "secrets.backend" in err and "PARCELCTL_SECRETS" not in err
    # The way out works.
    assert cli("config", "set", "secrets.backend", "file", env=NO_KEYRING).returncode == 0
    assert cli("config", "set", "providers.kuaidi100.key", "K1",
               env=NO_KEYRING).returncode == 0


# -- item 16: a read-only home, a home that is a file ---------------------------------------

@pytest.fixture
def readonly_home(parcelctl_home: Path) -> Any:
    import os
    import subprocess

    assert cli("add", "YT6247854916511", "--no-track").returncode == 0
    assert cli("config", "set", "display.language", "en").returncode == 0
    if os.geteuid() != 0:
        parcelctl_home.chmod(0o500)
        yield parcelctl_home
        parcelctl_home.chmod(0o700)
        return
    # root writes through permissions: only a read-only mount stops it.
    bind = subprocess.run(["mount", "--bind", str(parcelctl_home), str(parcelctl_home)],
                          capture_output=True, check=False)
    if bind.returncode != 0:
        pytest.skip("running as root without mount: cannot make a read-only home")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(parcelctl_home)],
                                 capture_output=True, check=False)
        if remount.returncode != 0:
            pytest.skip("cannot remount read-only")
        yield parcelctl_home
    finally:
        subprocess.run(["umount", str(parcelctl_home)], check=False)


def test_a_read_only_home_reads_and_refuses_writes_in_one_line(readonly_home: Path) -> None:
    for command in (("list",), ("list", "--json"), ("show", "YT6247854916511"),
                    ("config", "show"), ("config", "get", "display.language")):
        result = cli(*command)
        assert result.returncode == 0, (command, result.stderr)
    for command in (("config", "set", "display.language", "zh"), ("sync",),
                    ("add", "SF1234567890123", "--no-track"),
                    ("archive", "YT6247854916511")):
        err = assert_one_line_error(cli(*command))
        assert "is read-only" in err, (command, err)


def test_a_home_that_is_a_file_says_so(tmp_path: Path) -> None:
    home = tmp_path / "not-a-dir"
    home.write_text("x", encoding="utf-8")
    for command in (("list",), ("config", "set", "display.language", "en")):
        err = assert_one_line_error(cli(*command, env={"PARCELCTL_HOME": str(home)}))
        assert "is a file, not a directory" in err
