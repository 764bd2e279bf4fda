"""Run the CLI on a pseudo-terminal, the way a person at a keyboard does (prompts, hidden
input through /dev/tty)."""

from __future__ import annotations

import os
import pty
import select
import sys
import time


def on_terminal(*args: str, answers: list[tuple[str, str]], timeout: float = 60
                ) -> tuple[int, str]:
    """Run ``parcelctl ARGS`` as the session leader of a new terminal; for each
    ``(prompt, text)`` wait until ``prompt`` was shown, then type ``text``."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execv(sys.executable, [sys.executable, "-m", "parcelctl", *args])
    out = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pending and pending[0][0].encode() in out:
            os.write(fd, pending.pop(0)[1].encode())
            out = out.replace(b"\r", b"")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace").replace("\r", "")
