"""Ctrl-C says what was kept and leaves a clean line (issue 17, item 16)."""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import time

from parcelctl.cli.sync_cmd import interrupted
from parcelctl.sync import UnitResult


def _read_until(fd: int, wanted: bytes, timeout: float = 20) -> bytes:
    data = b""
    end = time.monotonic() + timeout
    while wanted not in data and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_ctrl_c_at_a_prompt_ends_the_line() -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: parcelctl on a terminal, asking for consent
        os.execv(sys.executable, [sys.executable, "-m", "parcelctl", "link", "kuaishou"])
    try:
        shown = _read_until(fd, b"Continue?")
        assert b"Continue?" in shown, shown
        time.sleep(0.2)
        os.write(fd, b"\x03")  # Ctrl-C typed at the prompt: the terminal sends SIGINT
        rest = _read_until(fd, b"interrupted\r\n")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 130
    # the message starts on a line of its own, not after "Continue? [Y/n]: ^C"
    assert re.search(rb"\r\n(\x1b\[[0-9;]*m)?error: interrupted", rest), rest
    assert rest.endswith(b"\r\n"), rest


def test_what_an_interrupted_sync_kept() -> None:
    kuaidi100 = UnitResult("kuaidi100", "tracking", items=30, answered=20)
    seventeen = UnitResult("17track", "tracking", items=10, answered=0)
    assert interrupted([kuaidi100]).startswith("interrupted: 20 of 30 answers saved")
    both = interrupted([UnitResult("kuaishou:shop", "account"), kuaidi100, seventeen])
    assert both.startswith("interrupted: 20 of 40 answers saved (kuaidi100 20 of 30, "
                           "17track 0 of 10)")
    importing = interrupted([UnitResult("kuaishou:shop", "account")])
    assert "import" in importing and "again" in importing
    assert interrupted([]) == "interrupted: nothing was changed"

