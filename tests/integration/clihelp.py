"""Run the real CLI in a subprocess, the way users and cron do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx


def cli(*args: str, input: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "parcelctl", *args], input=input,
                          capture_output=True, text=True, env=full_env, timeout=timeout)


def configure(running: Any, *names: str) -> None:
    """Point providers at the sandbox through the public `config set` command."""
    creds = running.sandbox.credentials()
    for name in names:
        for key, value in creds[name].items():
            result = cli("config", "set", f"providers.{name}.{key}", str(value))
            assert result.returncode == 0, result.stderr


def stats(running: Any) -> dict[str, Any]:
    return httpx.get(f"{running.base_url}/_sandbox/stats").json()  # type: ignore[no-any-return]


def control(running: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    return httpx.post(f"{running.base_url}/_sandbox/{path}", json=body or {}).json()


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error:"), err
    return err
