"""Shell completion is back (issue 17, item 12): commands, options, provider names,
statuses, carrier codes and the numbers in the store; ``list`` does not pay for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from parcelctl.store import Store

from .clihelp import cli


def _complete(line: str) -> list[str]:
    """What zsh would be offered for ``line`` (values only)."""
    result = cli(env={"_PARCELCTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line})
    assert result.returncode == 0, result.stderr
    values = []
    for item in result.stdout.split("\n"):
        item = item.strip().removeprefix("_arguments '*: :((").removesuffix("))'")
        if item.startswith('"'):
            values.append(item[1:].split('"', 1)[0])
    return values


def test_commands_and_options() -> None:
    assert "show" in _complete("parcelctl sh")
    assert "carriers" in _complete("parcelctl car")
    assert {"--carrier", "--provider", "--phone", "--no-track"} <= set(
        _complete("parcelctl add --"))


def test_values_of_options() -> None:
    assert _complete("parcelctl add --carrier yu") == ["yuantong", "yunda", "yundakuaiyun"]
    assert set(_complete("parcelctl sync --provider ")) >= {"kuaidi100", "17track", "cainiao"}
    assert _complete("parcelctl link ") == ["douyin", "kuaishou", "taobao"]  # platforms only
    assert _complete("parcelctl list --status in") == ["info_received", "in_transit"]
    assert "shunfeng" in _complete("parcelctl carriers sh")
    assert "providers.kuaidi100.customer" in _complete("parcelctl config set providers.ku")


def test_numbers_from_the_store(parcelctl_home: Path) -> None:
    assert _complete("parcelctl show YT") == []  # no store yet: nothing, and none created
    assert not (parcelctl_home / "parcels.db").exists()
    with Store(parcelctl_home / "parcels.db") as store, store.transaction():
        for number in ("YT9100000000001", "YT9100000000002", "SF1321934960512"):
            store.add_parcel(number, "", tracking_provider="cainiao")
    assert sorted(_complete("parcelctl show YT91")) == ["YT9100000000001", "YT9100000000002"]
    assert _complete("parcelctl archive sf13") == ["SF1321934960512"]
    assert _complete("parcelctl rm 7") == []


def test_install_and_show_completion_are_offered() -> None:
    help_text = cli("--help").stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
    script = cli("--show-completion", "bash")
    assert script.returncode == 0 and "_PARCELCTL_COMPLETE" in script.stdout


@pytest.mark.parametrize("args", [["list"], ["show", "YT9100000000001"]])
def test_list_and_show_do_not_load_completion(parcelctl_home: Path, args: list[str]) -> None:
    with Store(parcelctl_home / "parcels.db") as store, store.transaction():
        store.add_parcel("YT9100000000001", "yuantong", tracking_provider="kuaidi100")
    probe = ("import sys\nfrom parcelctl.cli.app import main\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit:\n    pass\n"
             "print('LOADED', sorted(m for m in sys.modules if m.startswith('parcelctl')"
             " and 'completion' in m))\n")
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "LOADED []", result.stdout + result.stderr
