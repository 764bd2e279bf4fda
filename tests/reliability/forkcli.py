"""Run ``parcelctl`` as real, separate processes — without paying its imports every time.

A small server process imports parcelctl once, then forks one child per command. The child
sets the environment, points fds 0/1/2 at files and calls ``parcelctl.cli.app.main(argv)``,
exactly what the ``parcelctl`` console script calls. So each command is a genuine process
(own exit code, own stderr, killable with SIGKILL at any moment) that costs ~10 ms to start
instead of ~0.5 s of CPU: that is what keeps hundreds of reliability runs within budget.

Used as a module by the tests (:class:`ForkCli`); run as a script it is the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Optional fault hooks for crash tests, installed in the child before main() runs.
HOOK_ENV = "RELIABILITY_CRASH_HOOK"


# -- the server (runs in its own process) ---------------------------------------------------

def _preload() -> None:
    import httpx  # noqa: F401

    import parcelctl.cli.app
    import parcelctl.lock
    import parcelctl.logfile
    import parcelctl.notify
    import parcelctl.store
    import parcelctl.sync  # noqa: F401
    from parcelctl.providers import registry

    for name in registry.names():
        registry.load(name)


def _child(command: dict[str, Any]) -> None:
    os.setpgid(0, 0)  # its own group: a kill never reaches the server
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(command["env"])
    for fd, path, flags in ((0, command.get("stdin") or os.devnull, os.O_RDONLY),
                            (1, command["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, command["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    code = 1
    try:
        hook = os.environ.get(HOOK_ENV)
        if hook:
            import importlib

            module, _, spec = hook.partition(":")
            importlib.import_module(module).install(spec)
        from parcelctl.cli.app import main

        main(command["argv"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the child is exiting anyway
                stream.flush()
        os._exit(code)


def serve() -> None:
    _preload()
    buffer = b""
    while True:
        while b"\n" not in buffer:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            buffer += chunk
        line, _, buffer = buffer.partition(b"\n")
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.close(0)  # the command channel is the server's, not the child's
            _child(command)
        os.write(1, f"pid {pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        os.write(1, f"exit {os.waitstatus_to_exitcode(status)}\n".encode())


# -- the client (used by the tests) ---------------------------------------------------------

@dataclass
class Handle:
    cli: ForkCli
    pid: int
    stdout_path: Path
    stderr_path: Path
    argv: list[str]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def wait(self, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        line = self.cli._read_line(timeout)
        if line is None:
            self.kill()
            line = self.cli._read_line(10.0)
            raise TimeoutError(f"parcelctl {' '.join(self.argv)} did not finish in {timeout}s")
        assert line.startswith("exit "), line
        code = int(line.split()[1])
        out = self.stdout_path.read_text(encoding="utf-8", errors="replace")
        err = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        return subprocess.CompletedProcess(["parcelctl", *self.argv], code, out, err)


class ForkCli:
    """One server; commands run one at a time (use one ForkCli per worker thread)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONIOENCODING"] = "utf-8"
        self._dir = Path(tempfile.mkdtemp(prefix="forkcli-"))
        self._count = 0
        self._proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)
        self._pending = b""

    def _read_line(self, timeout: float) -> str | None:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError("the forkcli server died")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode()

    def start(self, home: Path, *argv: str, env: dict[str, str] | None = None,
              input: str | None = None, hook: str | None = None) -> Handle:
        self._count += 1
        base = self._dir / str(self._count)
        stdin = None
        if input is not None:
            stdin = str(base.with_suffix(".in"))
            Path(stdin).write_text(input, encoding="utf-8")
        full = {k: v for k, v in os.environ.items() if k != "PARCELCTL_DEBUG"}
        full.update({"PARCELCTL_HOME": str(home), "PARCELCTL_SECRETS": "file", "NO_COLOR": "1",
                     "PYTHONIOENCODING": "utf-8"})
        full.update(env or {})
        if hook:
            full[HOOK_ENV] = hook
        command = {"argv": list(argv), "env": full, "stdin": stdin,
                   "stdout": str(base.with_suffix(".out")),
                   "stderr": str(base.with_suffix(".err"))}
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command).encode() + b"\n")
        self._proc.stdin.flush()
        line = self._read_line(30.0)
        assert line is not None and line.startswith("pid "), line
        return Handle(self, int(line.split()[1]), base.with_suffix(".out"),
                      base.with_suffix(".err"), list(argv))

    def run(self, home: Path, *argv: str, timeout: float = 60.0, env: dict[str, str] | None = None,
            input: str | None = None, hook: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        return self.start(home, *argv, env=env, input=input, hook=hook).wait(timeout)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        shutil.rmtree(self._dir, ignore_errors=True)


if __name__ == "__main__":
    serve()
