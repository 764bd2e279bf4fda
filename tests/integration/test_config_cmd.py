"""`config set` / `unset` refuse what would leak a secret, wipe a section or break a later
cron run, and say which key and what to do; nothing saved is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parcelctl.config import get_paths

from .clihelp import assert_one_line_error, cli


def _saved() -> tuple[str, dict[str, str]]:
    paths = get_paths()
    secrets = paths.secrets_file
    config = paths.config_file
    return (config.read_text(encoding="utf-8") if config.exists() else "",
            json.loads(secrets.read_text(encoding="utf-8")) if secrets.exists() else {})


def test_a_whole_table_is_refused_and_its_secret_never_shown(parcelctl_home: Path) -> None:
    assert cli("config", "set", "providers.kuaidi100.customer", "C1").returncode == 0
    before = _saved()
    result = cli("config", "set", "providers.kuaidi100",
                 '{customer="C2", key="TOPSECRETKEY123"}')
    err = assert_one_line_error(result)
    assert "is a section" in err
    assert "TOPSECRETKEY123" not in result.stdout + result.stderr
    assert _saved() == before
    # A table under a key one level down is refused as well.
    result = cli("config", "set", "providers.kuaidi100.customer", '{key="TOPSECRETKEY123"}')
    assert "one value, not a table" in assert_one_line_error(result)
    assert "TOPSECRETKEY123" not in result.stdout + result.stderr
    assert _saved() == before


@pytest.mark.parametrize("args", [("set", "providers.kuaidi100", "x"),
                                  ("set", "providers", "x"),
                                  ("unset", "providers"),
                                  ("unset", "providers.kuaidi100")])
def test_a_section_is_not_replaced_or_removed(parcelctl_home: Path, args: tuple[str, ...]
                                              ) -> None:
    assert cli("config", "set", "providers.kuaidi100.customer", "C1").returncode == 0
    assert cli("config", "set", "providers.tracking.default", "kuaidi100").returncode == 0
    before = _saved()
    err = assert_one_line_error(cli("config", *args))
    assert "is a section" in err
    assert _saved() == before
    assert cli("config", "get", "providers.kuaidi100.customer").stdout.strip() == "C1"


@pytest.mark.parametrize(("key", "value", "says"), [
    ("http.timeout", "abc", "http.timeout must be a number above 0"),
    ("polling.jitter", "3", "polling.jitter must be a number from 0 to 1"),
    ("notify.burst", "2.5", "notify.burst must be a whole number"),
    ("polling.stale_day", "3", "did you mean polling.stale_days"),
    ("nosuch.key", "1", "'nosuch.key' is not a setting"),
    ("display.language", "fr", "display.language must be one of zh, en"),
    ("notify.quiet_hours", "25:00-08:00", "notify.quiet_hours"),
    ("notify.timezone", "Mars/Olympus", "not a known time zone"),
    ("notify.on", '["nope"]', "'nope' is not a status"),
    ("notify.desktop.enabled", "yes", "must be true or false"),
    ("providers.nosuch.key", "k", "'nosuch' is not a provider"),
    ("providers.cainiao.batch_size", "0", "batch_size must be a whole number"),
])
def test_bad_values_are_refused_with_the_key_named(parcelctl_home: Path, key: str,
                                                   value: str, says: str) -> None:
    assert cli("config", "set", "polling.in_transit", "120").returncode == 0
    before = _saved()
    err = assert_one_line_error(cli("config", "set", key, value))
    assert says in err
    assert _saved() == before


def test_good_values_still_go_through(parcelctl_home: Path) -> None:
    for key, value in [("http.timeout", "15"), ("polling.jitter", "0.2"),
                       ("notify.on", '["delivered", "overdue"]'),
                       ("notify.quiet_hours", "22:00-07:30"),
                       ("notify.timezone", "Asia/Shanghai"),
                       ("providers.kuaishou.window_days", "3")]:
        result = cli("config", "set", key, value)
        assert result.returncode == 0, result.stderr
    assert cli("config", "get", "polling.jitter").stdout.strip() == "0.2"


def test_a_quoted_secret_is_stored_without_its_quotes(parcelctl_home: Path) -> None:
    assert cli("config", "set", "providers.kuaidi100.key", '"abc-123"').returncode == 0
    assert cli("config", "set", "providers.17track.token", "1e5").returncode == 0
    secrets = _saved()[1]
    assert secrets["providers.kuaidi100.key"] == "abc-123"
    assert secrets["providers.17track.token"] == "1e5"  # as typed, not the number 100000.0


def test_a_hand_edited_bad_number_is_one_line_naming_the_key(parcelctl_home: Path) -> None:
    paths = get_paths()
    paths.ensure()
    paths.config_file.write_text('[polling]\nstale_days = "abc"\n', encoding="utf-8")
    err = assert_one_line_error(cli("list"))
    assert "polling.stale_days" in err and "must be a number" in err
    assert "unexpected" not in err
