"""A cross-process lock so that two syncs never run at once (flock on a file in the home)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from .errors import LockedError


class SyncLock:
    def __init__(self, path: Path, *, wait: bool = True, timeout: float = 600.0) -> None:
        self.path = path
        self.wait = wait
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> bool:
        from .homefiles import make_private_dir, open_private

        make_private_dir(self.path.parent)
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)  # never through a planted link
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not self.wait or time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.2)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SyncLock:
        if not self.acquire():
            if self.wait:  # queued, and the other one did not finish in time
                raise LockedError(
                    f"another sync has held the lock for over {self.timeout / 60:g} minutes",
                    hint=f"it may be stuck: its process id is in {self.path}, and the lock "
                         "goes when that process ends")
            raise LockedError("another sync is running",
                              hint="wait for it to finish, or run without --no-wait to queue")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
