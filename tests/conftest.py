"""Shared fixtures: a throwaway PARCELCTL_HOME for every test, and a loopback sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def parcelctl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real home directory or keyring."""
    home = tmp_path / "home"
    monkeypatch.setenv("PARCELCTL_HOME", str(home))
    monkeypatch.setenv("PARCELCTL_SECRETS", "file")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("PARCELCTL_DEBUG", raising=False)
    return home


@pytest.fixture(autouse=True)
def _reset_parcelctl_logging() -> Iterator[None]:
    """Tests that run the CLI in-process configure the "parcelctl" logger; undo it so
    later tests' caplog still sees warnings."""
    import logging

    yield
    logger = logging.getLogger("parcelctl")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
    if hasattr(logger, "_parcelctl_configured"):
        delattr(logger, "_parcelctl_configured")


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A fresh sandbox served on 127.0.0.1 (a new one per test: counters start at zero)."""
    from parcelctl.sandbox.server import RunningSandbox, Sandbox

    with RunningSandbox(Sandbox()) as running:
        yield running
