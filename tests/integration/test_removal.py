"""Issue 16 items 9 and 10: deleting asks first, says how much it removed, and a blank
reference names nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from .clihelp import as_json, assert_one_line_error, cli
from .ttyhelp import on_terminal


def _numbers() -> list[str]:
    return [p["tracking_number"] for p in as_json(cli("list", "--all", "--json"))]


def test_rm_without_a_terminal_needs_yes(parcelctl_home: Path) -> None:
    assert cli("add", "YT6247854916511", "--no-track").returncode == 0
    err = assert_one_line_error(cli("rm", "YT6247854916511"))
    assert "--yes" in err
    assert _numbers() == ["YT6247854916511"]
    done = cli("rm", "YT6247854916511", "--yes")
    assert done.returncode == 0
    assert "removed 1 parcel" in done.stderr + done.stdout
    assert _numbers() == []


def test_rm_on_a_terminal_asks(parcelctl_home: Path) -> None:
    assert cli("add", "YT6247854916511", "--no-track").returncode == 0
    code, out = on_terminal("rm", "YT6247854916511", answers=[("[y/N]", "n\n")])
    assert code == 1 and "Remove YT6247854916511" in out and "cancelled" in out
    assert _numbers() == ["YT6247854916511"]
    code, out = on_terminal("rm", "YT6247854916511", answers=[("[y/N]", "y\n")])
    assert code == 0, out
    assert "removed 1 parcel" in out
    assert _numbers() == []


@pytest.mark.parametrize("command", [["rm", "--yes"], ["archive"], ["show"], ["show", "--json"]])
@pytest.mark.parametrize("blank", ["", " ", "\t", "-", " - "])
def test_a_blank_reference_is_refused(parcelctl_home: Path, command: list[str], blank: str
                                      ) -> None:
    assert cli("add", "--no-track", "-", input="YT6247854916511\n").returncode == 0
    err = assert_one_line_error(cli(command[0], blank, *command[1:]))
    assert "blank" in err
    assert _numbers() == ["YT6247854916511"]
