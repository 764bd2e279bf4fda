"""Small helpers shared by command modules (kept import-light)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from ..app.reading import open_store as open_store
from ..app.reading import store_exists as store_exists
from ..config import Config

T = TypeVar("T")


def load_config() -> Config:
    return Config()


def language(config: Config) -> str:
    lang = config.get("display.language")
    return "en" if lang == "en" else "zh"


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # here, not at the top: list and show never need it

    return asyncio.run(coro)


def end_interrupted_line() -> None:
    """After Ctrl-C on a terminal, start a fresh line: the terminal echoed ``^C`` where the
    cursor was (after a prompt such as "Continue? [Y/n]: "), and the next message or the
    shell's prompt would otherwise follow on that line."""
    import sys

    stream = sys.stderr
    if stream is not None and stream.isatty():
        stream.write("\n")
        stream.flush()
