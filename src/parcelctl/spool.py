"""The pages of one account import, kept until the import commits, in bounded memory.

An import is written in ONE transaction (sync._StreamedImport); when it has to give the
write lock back, what it wrote is rolled back and written again at the end, so every page
is needed until the commit. A shop's usual import stays in memory; past ``KEEP`` pages the
rest go to an unnamed temporary file (0600, gone when closed), so a server that never stops
sending pages costs disk, not memory (issue 16: 14 MB/s).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO

from .models import Order


class PageSpool:
    #: 256 pages of 50 orders: a first import of ~12,800 orders never touches the disk.
    KEEP = 256

    def __init__(self, keep: int | None = None) -> None:
        self.keep = self.KEEP if keep is None else keep
        self._memory: list[list[Order]] = []
        self._offsets: list[int] = []  # where each spilled page starts in the file
        self._file: IO[bytes] | None = None

    def __len__(self) -> int:
        return len(self._memory) + len(self._offsets)

    def append(self, page: list[Order]) -> None:
        if len(self._memory) < self.keep:
            self._memory.append(page)
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._file.seek(0, 2)
        self._offsets.append(self._file.tell())
        pickle.dump(page, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def read(self, start: int = 0) -> Iterator[list[Order]]:
        """Pages ``start`` … last, in the order they came."""
        for index in range(start, len(self)):
            if index < len(self._memory):
                yield self._memory[index]
                continue
            assert self._file is not None
            self._file.seek(self._offsets[index - len(self._memory)])
            # Our own file, written just above by this process: not untrusted input.
            yield pickle.load(self._file)  # noqa: S301

    def close(self) -> None:
        self._memory, self._offsets = [], []
        if self._file is not None:
            self._file.close()
            self._file = None
