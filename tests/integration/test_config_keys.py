"""Issue 16 items 11-13 and issue 17 item 11: provider keys are checked against what each
provider declares, secrets are decided by declaration (webhook and Apprise URLs included),
there is a safe way to type a secret, and every key can be looked up with its default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parcelctl.config import get_paths

from .clihelp import as_json, assert_one_line_error, cli
from .ttyhelp import on_terminal


def _files() -> tuple[str, dict[str, str]]:
    paths = get_paths()
    config = paths.config_file.read_text("utf-8") if paths.config_file.exists() else ""
    secrets = (json.loads(paths.secrets_file.read_text("utf-8"))
               if paths.secrets_file.exists() else {})
    return config, secrets


@pytest.mark.parametrize(("key", "value", "says"), [
    ("providers.kuaidi100.kye", "secret", "did you mean providers.kuaidi100.key"),
    ("providers.kuaidi100.custmer", "C1", "did you mean providers.kuaidi100.customer"),
    ("providers.kuaidi100.min_interval_minutes", "abc", "whole number from 0 to 43200"),
    ("providers.kuaishou.sign_method", "SHA1", "one of HMAC_SHA256, MD5"),
    ("providers.kuaishou.page_size", "500", "from 1 to 50"),
    ("providers.kuaidi100.phone_carriers", "5", "must be a list"),
    ("providers.taobao.view", "mobile", "one of web, tmall, wap"),
    ("providers.kuaidi10.customer", "C1", "did you mean kuaidi100"),
])
def test_provider_keys_are_checked(parcelctl_home: Path, key: str, value: str, says: str
                                   ) -> None:
    result = cli("config", "set", key, value)
    assert says in assert_one_line_error(result)
    assert value not in result.stderr or value in says or value in ("5", "500", "SHA1",
                                                                      "abc", "C1", "mobile")
    assert _files() == ("", {})


def test_a_mistyped_secret_key_is_never_written_in_clear(parcelctl_home: Path) -> None:
    result = cli("config", "set", "providers.kuaidi100.kye", "TOPSECRET-1234567")
    assert "TOPSECRET" not in result.stdout + result.stderr
    assert "TOPSECRET" not in _files()[0]


def test_secret_storage_follows_the_declaration(parcelctl_home: Path) -> None:
    """kuaishou declares app_secret and sign_secret secret, app_key not."""
    for key, value in [("providers.kuaishou.app_key", "ks123"),
                       ("providers.kuaishou.app_secret", "AS-0123456789"),
                       ("providers.kuaishou.sign_secret", "SS-0123456789")]:
        assert cli("config", "set", key, value).returncode == 0
    config, secrets = _files()
    assert "ks123" in config and "AS-0123" not in config and "SS-0123" not in config
    assert secrets["providers.kuaishou.app_secret"] == "AS-0123456789"


@pytest.mark.parametrize(("key", "value"), [
    ("notify.webhook.url", "https://hooks.example.test/services/T000/B000/XXXXSECRETXXXX"),
    ("notify.apprise.urls", '["tgram://123456:SECRETBOTTOKEN/987"]'),
])
def test_notification_urls_are_secrets(parcelctl_home: Path, key: str, value: str) -> None:
    result = cli("config", "set", key, value)
    assert result.returncode == 0, result.stderr
    assert "SECRET" not in result.stdout + result.stderr
    config, secrets = _files()
    assert "SECRET" not in config
    assert key in secrets
    shown = cli("config", "show")
    assert "SECRET" not in shown.stdout and f"{key} = ******" in shown.stdout
    assert cli("config", "get", key).stdout.strip() == "******"
    assert "SECRET" not in cli("config", "show", "--json").stdout
    # The program itself still reads it.
    from parcelctl.config import Config

    got = Config().get(key)
    assert "SECRET" in (got if isinstance(got, str) else got[0])


def test_a_webhook_url_left_in_config_toml_is_shown_redacted(parcelctl_home: Path) -> None:
    paths = get_paths()
    paths.ensure()
    paths.config_file.write_text('[notify.webhook]\nurl = "https://h.test/SECRETPATH123"\n',
                                 encoding="utf-8")
    shown = cli("config", "show")
    assert shown.returncode == 0 and "SECRETPATH" not in shown.stdout


def test_a_secret_from_stdin(parcelctl_home: Path) -> None:
    result = cli("config", "set", "providers.kuaidi100.key", "-", input="K-from-stdin-99\n")
    assert result.returncode == 0, result.stderr
    assert "K-from-stdin" not in result.stdout + result.stderr
    assert _files()[1]["providers.kuaidi100.key"] == "K-from-stdin-99"
    # Not a terminal, no value: one line saying how, nothing stored.
    err = assert_one_line_error(cli("config", "set", "providers.17track.token"))
    assert "'-'" in err
    assert "providers.17track.token" not in _files()[1]


def test_a_secret_from_a_hidden_prompt(parcelctl_home: Path) -> None:
    code, out = on_terminal("config", "set", "providers.kuaidi100.key",
                            answers=[("providers.kuaidi100.key: ", "TYPED-SECRET-42\n")])
    assert code == 0, out
    assert "TYPED-SECRET" not in out  # not echoed, not printed
    assert _files()[1]["providers.kuaidi100.key"] == "TYPED-SECRET-42"


def test_a_negative_number_is_a_value_not_an_option(parcelctl_home: Path) -> None:
    err = assert_one_line_error(cli("config", "set", "http.timeout", "-5"))
    assert "http.timeout must be a number above 0" in err


def test_get_says_when_a_value_is_the_default(parcelctl_home: Path) -> None:
    result = cli("config", "get", "polling.stale_days")
    assert result.returncode == 0
    assert result.stdout.strip() == "7" and "default" in result.stderr
    result = cli("config", "get", "providers.kuaidi100.base_url")
    assert result.stdout.strip() == "https://poll.kuaidi100.com" and "default" in result.stderr
    assert cli("config", "set", "polling.stale_days", "3").returncode == 0
    result = cli("config", "get", "polling.stale_days")
    assert result.stdout.strip() == "3" and "default" not in result.stderr
    assert "did you mean polling.stale_days" in assert_one_line_error(
        cli("config", "get", "polling.stale_day"))


def test_config_keys_lists_every_key_with_type_default_and_meaning(parcelctl_home: Path
                                                                    ) -> None:
    keys = {k["key"]: k for k in as_json(cli("config", "keys", "--json"))}
    for key in ("http.timeout", "polling.stale_days", "notify.webhook.url",
                "providers.tracking.default", "providers.kuaidi100.customer",
                "providers.kuaidi100.key", "providers.kuaishou.sign_method",
                "providers.17track.token", "providers.cainiao.base_url"):
        assert key in keys, key
    assert all(k["help"] for k in keys.values()), [k for k, v in keys.items() if not v["help"]]
    assert keys["providers.kuaidi100.key"]["secret"] is True
    assert keys["notify.webhook.url"]["secret"] is True
    assert keys["providers.kuaidi100.customer"]["secret"] is False
    assert keys["http.timeout"]["default"] == 20
    assert "HMAC_SHA256" in keys["providers.kuaishou.sign_method"]["type"]
    text = cli("config", "keys", "providers.kuaidi100.").stdout
    assert "providers.kuaidi100.key" in text and "secret" in text
    assert "providers.kuaishou" not in text
