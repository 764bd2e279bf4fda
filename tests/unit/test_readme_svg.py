"""The README's picture of ``parcelctl list`` is what the code draws today (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_docs_list_svg_is_not_stale() -> None:
    # In a child process: the script fixes the clock of every parcelctl module it loads.
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_svg.py"),
                             "--check"], capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, (
        "docs/list.svg is stale; regenerate it with: python scripts/readme_svg.py\n"
        + result.stdout + result.stderr)


def test_the_readme_shows_the_picture() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/list.svg" in readme
    svg = (ROOT / "docs" / "list.svg").read_text(encoding="utf-8")
    # The picture is drawn in the default display language (zh): its header says 快递.
    assert svg.startswith("<svg") and "快递" in svg and "SF1321934960512" in svg
