"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, and they bite: a
deliberate violation in a copy of the package makes ``lint-imports`` fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is a dev dependency")


def _lint(src: Path, project: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(src))
    return subprocess.run([str(LINT), "--no-cache", str(project / "pyproject.toml")],
                          cwd=project, env=env, capture_output=True, text=True, timeout=240,
                          check=False)


def test_the_contracts_hold() -> None:
    result = _lint(ROOT / "src", ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    # the sandbox must not learn a protocol from the provider it is meant to check
    ("sandbox/kuaidi100.py", "from ..providers import kuaidi100 as _peek  # noqa\n",
     "the sandbox implements each protocol on its own"),
    # a provider reaching into the store
    ("providers/cainiao.py", "from .. import store as _store  # noqa\n",
     "providers know protocols only"),
    # a new command reaching past the application layer
    ("cli/show.py", "from .. import sync as _sync  # noqa\n", "commands call the application"),
    # the application layer reaching up into the commands
    ("app/sync.py", "from ..cli import output as _output  # noqa\n", "cli -> application"),
    # a lower layer importing a higher one
    ("http.py", "from . import store as _store  # noqa\n", "cli -> application"),
])
def test_a_violation_fails(tmp_path: Path, module: str, line: str, contract: str) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "parcelctl", src / "parcelctl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = src / "parcelctl" / module
    text = target.read_text(encoding="utf-8")
    head, sep, rest = text.partition("from __future__ import annotations\n")
    target.write_text(head + sep + line + rest, encoding="utf-8")
    result = _lint(src, tmp_path)
    assert result.returncode != 0
    assert contract in " ".join(result.stdout.split()), result.stdout[-2000:]
