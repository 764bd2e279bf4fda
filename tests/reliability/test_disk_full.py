"""The disk under the store fills up in the middle of a write (diskhooks.py).

The user gets one line that says so and what to do, exit 1, no traceback; everything saved
before is intact, and once there is room again the next run works. Before, SQLite's own
rollback of the failed transaction made parcelctl's ROLLBACK fail as well, and the user saw
"unexpected error: OperationalError: cannot rollback - no transaction is active".
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from parcelctl.sandbox.server import RunningSandbox

from . import world
from .forkcli import ForkCli

WORKERS = 1
FULL = "diskhooks:0"  # not one page more than the file has


def _content(home: Path) -> dict[tuple[str, str], dict[str, object]]:
    with closing(world.connect(home)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return world.parcel_content(db)


def _assert_disk_full(stderr: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("error: the disk holding ") and "is full" in lines[0], lines
    assert "free some space" in lines[0]


#: Enough parcels that writing their answers needs new pages.
MANY = world.synthetic_numbers(300)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("argv", "seeded"), [
    (("sync",), False),                            # the shop import's streamed transaction
    (("sync", "--provider", "kuaidi100"), True),   # a tracking provider's answers
    (("add", *MANY, "--carrier", "yuantong", "--no-track"), False),
], ids=["import", "tracking", "add"])
def test_disk_full_is_one_line_and_loses_nothing(argv: tuple[str, ...], seeded: bool,
                                                fleet: list[RunningSandbox],
                                                forks: list[ForkCli],
                                                homes: world.HomeFactory,
                                                tmp_path: Path) -> None:
    running, fork = fleet[0], forks[0]
    home = homes.make(tmp_path / "home", running)
    if seeded:
        world.add_kuaidi100_parcels(home, MANY)
    before = _content(home)

    result = fork.run(home, *argv, hook=FULL, timeout=90)

    assert result.returncode == 1, (result.returncode, result.stderr)
    _assert_disk_full(result.stderr)
    after = _content(home)
    if seeded:
        # Answers are saved as they come: those written before the disk filled up stay,
        # each parcel whole (status with its events); the rest is as it was.
        changed = [key for key, parcel in before.items() if after[key] != parcel]
        assert len(changed) < len(MANY)
        for key in changed:
            assert after[key]["status"] != "unknown" and after[key]["events"], key
        assert after.keys() == before.keys()
    else:
        assert after == before  # the import and the add are all-or-nothing
    # Room again: the same command goes through.
    again = fork.run(home, *argv, timeout=90)
    assert again.returncode == 0, again.stderr
    assert _content(home) != before
