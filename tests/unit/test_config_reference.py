"""docs/configuration.md lists every key `config keys` knows (issue 17 item 11): a key added
without its documentation fails here."""

from __future__ import annotations

from pathlib import Path

from parcelctl.config_reference import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_key_is_documented_with_its_range() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [doc.key for doc in reference() if f"| `{doc.key}` | {doc.type} |" not in text]
    assert missing == [], "add a row per key: | `KEY` | TYPE | default | secret | meaning |"


def test_every_key_has_a_meaning() -> None:
    assert [doc.key for doc in reference() if not doc.help] == []
