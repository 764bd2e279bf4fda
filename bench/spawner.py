"""Launch measured commands from a SMALL process, so their peak RSS is their own.

Linux charges a child's ``ru_maxrss`` with the resident size of the process it was forked
from (the pre-exec memory is recorded at exec), so a benchmark process that holds a 10,000-
order sandbox would inflate every figure. This process stays a few MB: it reads one JSON
request per line on stdin (``{"cmd", "env", "stdout", "timeout"}``), runs it, reaps it with
``wait4`` and answers one JSON line: wall seconds, the child's peak RSS, return code, and
stdout/stderr (stdout goes to the ``stdout`` file instead when one is given).
Standard library only, on purpose.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time


def run(request: dict[str, object]) -> dict[str, object]:
    cmd = request["cmd"]
    env = request["env"]
    assert isinstance(cmd, list) and isinstance(env, dict)
    stdout_path = request.get("stdout")
    timeout = float(request.get("timeout") or 900.0)  # type: ignore[arg-type]
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        target = open(str(stdout_path), "wb") if stdout_path else out  # noqa: SIM115
        try:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=target,
                                    stderr=err)
            deadline = started + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.0005)
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if stdout_path:
                target.close()
        out.seek(0)
        err.seek(0)
        return {"seconds": seconds, "maxrss_kb": usage.ru_maxrss,
                "cpu_s": usage.ru_utime + usage.ru_stime, "returncode": proc.returncode,
                "stdout": base64.b64encode(out.read()).decode(),
                "stderr": base64.b64encode(err.read()).decode()}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        answer = run(json.loads(line))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
