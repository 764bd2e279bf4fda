"""The sync lock's refusals say what happened: a queued sync that waited too long is not
told to "run without --no-wait", which is what it did."""

from __future__ import annotations

from pathlib import Path

import pytest

from parcelctl.errors import LockedError
from parcelctl.lock import SyncLock


def test_a_queued_sync_that_waited_too_long_says_so(tmp_path: Path) -> None:
    path = tmp_path / "sync.lock"
    with SyncLock(path):
        with pytest.raises(LockedError) as waited:
            SyncLock(path, wait=True, timeout=0.3).__enter__()
        assert "held the lock for over" in str(waited.value)
        assert "--no-wait" not in str(waited.value) and str(path) in str(waited.value)
        with pytest.raises(LockedError) as refused:
            SyncLock(path, wait=False).__enter__()
        assert "another sync is running" in str(refused.value)
    with SyncLock(path, wait=False):  # released: free again
        pass
