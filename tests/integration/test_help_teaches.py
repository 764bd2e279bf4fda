"""Help that teaches (issue 17 item 13): no type names, sentences for summaries, an
Examples section under every command, --json worded alike, typos answered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from parcelctl.cli.app import COMMANDS, build_app
from parcelctl.cli.helptext import EXAMPLES, JSON_HELP, polish

from .clihelp import cli


def _leaves(command: typer.main.TyperGroup | object, path: str = "") -> list[tuple[str, object]]:
    subs = getattr(command, "commands", None)
    if not subs:
        return [(path, command)]
    out = []
    for name, sub in subs.items():
        out += _leaves(sub, f"{path} {name}".strip())
    return out


def _tree() -> object:
    command = typer.main.get_command(build_app())
    polish(command)
    return command


def test_every_command_has_examples_that_name_it() -> None:
    for path, _ in _leaves(_tree()):
        assert path in EXAMPLES, f"parcelctl {path} has no Examples"
        assert all(line.startswith(f"parcelctl {path}") or "| parcelctl" in line
                   or f"parcelctl {path.split()[0]}" in line for line in EXAMPLES[path]), path


@pytest.mark.parametrize("path", sorted({p for p in EXAMPLES}))
def test_help_shows_examples_and_no_type_names(parcelctl_home: Path, path: str) -> None:
    result = cli(*path.split(), "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Examples:" in text
    assert not re.search(r"<(str|int|float|list\[str\]|[a-z]+ range)>", text), text
    assert not re.search(r"\{[a-z_]+\}", text), text  # Typer's "{number}"


def test_json_is_described_the_same_everywhere() -> None:
    seen = set()
    for _, command in _leaves(_tree()):
        for param in command.params:  # type: ignore[attr-defined]
            if param.name == "json_out":
                seen.add(param.help)
    assert seen == {JSON_HELP}


def test_summaries_are_whole_sentences(parcelctl_home: Path) -> None:
    result = cli("--help")
    listed = result.stdout.split("Commands:", 1)[1]
    for name in COMMANDS:
        line = next(x for x in listed.splitlines() if x.strip().startswith(name + " "))
        assert not line.rstrip().endswith("e.g."), line


@pytest.mark.parametrize(("word", "says"), [
    ("search", "parcelctl list QUERY"), ("lst", "parcelctl list"), ("zzz", "parcelctl --help"),
])
def test_a_typo_gets_the_nearest_command(parcelctl_home: Path, word: str, says: str) -> None:
    result = cli(word)
    assert result.returncode == 2
    assert says in result.stderr and "archive" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_show_takes_carrier_like_archive(parcelctl_home: Path) -> None:
    assert cli("add", "YT6247854916511", "--no-track", "--carrier", "yuantong").returncode == 0
    assert cli("show", "YT6247854916511", "--carrier", "yuantong").returncode == 0
    missing = cli("show", "YT6247854916511", "--carrier", "zhongtong")
    assert missing.returncode == 1 and "no parcel" in missing.stderr
