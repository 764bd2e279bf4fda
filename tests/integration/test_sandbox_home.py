"""The sandbox by hand (issue 17, item 15): a stable default port, one step to point the
current home at it and one back, connection errors that name the address, and the
wording of ``link --no-browser`` / ``--paste``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from parcelctl.sandbox.server import DEFAULT_PORT

from .clihelp import as_json, assert_one_line_error, cli


def test_serve_listens_on_the_same_port_every_time() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "parcelctl", "sandbox", "serve", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ), start_new_session=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:  # another program (or a test run beside this one) holds the port
            err = proc.stderr.read() if proc.stderr else ""
            assert "cannot listen" in err and str(DEFAULT_PORT) in err, err
            pytest.skip(f"port {DEFAULT_PORT} is busy on this machine")
        credentials = json.loads(line)
        assert credentials["kuaidi100"]["base_url"] == \
            f"http://127.0.0.1:{DEFAULT_PORT}/kuaidi100"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)


def test_serve_says_how_to_point_the_home_at_it() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "parcelctl", "sandbox", "serve", "--port",
                             "0"], stdout=subprocess.PIPE, text=True, env=dict(os.environ),
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        port = first.split("127.0.0.1:")[1].split()[0]
        assert f"parcelctl sandbox use --port {port}" in proc.stdout.readline()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)


def _secrets(home: Path) -> dict[str, str]:
    path = home / "secrets.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_use_and_leave_put_every_setting_back(parcelctl_home: Path) -> None:
    assert cli("config", "set", "providers.kuaidi100.customer", "MY-REAL-ID").returncode == 0
    assert cli("config", "set", "providers.kuaidi100.key", "my-real-key").returncode == 0
    before = as_json(cli("config", "show", "--json"))

    used = cli("sandbox", "use", "--port", "9123")
    assert used.returncode == 0, used.stderr
    assert "sandbox leave" in used.stdout
    shown = as_json(cli("config", "show", "--json"))
    assert shown["providers.kuaidi100.base_url"] == "http://127.0.0.1:9123/kuaidi100"
    assert shown["providers.kuaishou.base_url"] == "http://127.0.0.1:9123/kuaishou"
    assert shown["providers.kuaidi100.customer"] != "MY-REAL-ID"
    assert _secrets(parcelctl_home)["providers.kuaidi100.key"] != "my-real-key"
    assert "my-real-key" not in (parcelctl_home / "config.toml").read_text()

    # Used again on another port: the values saved the first time still come back.
    assert cli("sandbox", "use", "--port", "9124").returncode == 0
    left = cli("sandbox", "leave")
    assert left.returncode == 0, left.stderr
    assert as_json(cli("config", "show", "--json")) == before
    assert _secrets(parcelctl_home) == {"providers.kuaidi100.key": "my-real-key"}
    assert_one_line_error(cli("sandbox", "leave"))  # nothing left to undo


def test_a_home_pointed_at_a_running_sandbox_tracks_through_it(sandbox: Any) -> None:
    assert cli("sandbox", "use", "--port", str(sandbox.port)).returncode == 0
    added = as_json(cli("add", "YT6247854916511", "--json"))
    assert added[0]["status"] == "delivered"


def test_a_sandbox_that_is_not_running_is_named_in_the_error(parcelctl_home: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert cli("sandbox", "use", "--port", str(port)).returncode == 0
    result = cli("add", "YT6247854916511", "--provider", "17track")
    assert result.returncode == 3, result.stderr  # stored, not tracked
    assert f"cannot reach http://127.0.0.1:{port}" in result.stderr
    assert "parcelctl sandbox serve" in result.stderr
