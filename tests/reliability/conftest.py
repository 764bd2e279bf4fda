"""Fixtures shared by the reliability tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parcelctl.sandbox.server import RunningSandbox

from . import world
from .forkcli import ForkCli

WORKERS = 4  # a test module may ask for more with its own WORKERS


def _workers(request: pytest.FixtureRequest) -> int:
    return int(getattr(request.module, "WORKERS", WORKERS))


@pytest.fixture(scope="module")
def fleet(request: pytest.FixtureRequest) -> Iterator[list[RunningSandbox]]:
    """Sandboxes with the same dataset, so that cases can run side by side without seeing
    each other's faults (one per worker)."""
    sandboxes = [world.new_sandbox() for _ in range(_workers(request))]
    try:
        yield sandboxes
    finally:
        for running in sandboxes:
            running.stop()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory,
              fleet: list[RunningSandbox]) -> world.Reference:
    """A home that never saw a fault, synced once: what every recovered home must equal."""
    home: Path = tmp_path_factory.mktemp("reference") / "home"
    return world.reference(home, fleet[0])


@pytest.fixture(scope="module")
def forks(request: pytest.FixtureRequest) -> Iterator[list[ForkCli]]:
    """Fork servers: that many parcelctl commands can run side by side."""
    servers = [ForkCli() for _ in range(_workers(request))]
    try:
        yield servers
    finally:
        for server in servers:
            server.close()


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> world.HomeFactory:
    return world.HomeFactory(tmp_path_factory.mktemp("templates"))
