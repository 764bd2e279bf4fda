"""parcelctl cron install|remove|show — one crontab line that runs ``sync --quiet``.

The line carries a tag comment, so ``install`` replaces it (never a second copy) and
``remove`` deletes only it; every other line of the user's crontab is kept byte for byte.
The crontab program is ``$PARCELCTL_CRONTAB`` when set (tests point it at a fake script, so
the real crontab is never touched), else ``crontab``. The job runs this very interpreter
(``python -m parcelctl``), so it works from a virtualenv without PATH tricks, and keeps
``PARCELCTL_HOME``/``PARCELCTL_SECRETS`` when they are set. Its minute is derived from the
home path, so that not every installation calls the APIs at :00.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import typer

app = typer.Typer(help="Manage the crontab line that runs 'parcelctl sync --quiet'.",
                  no_args_is_help=True)

MARKER = "# parcelctl:sync"
TAG = f"{MARKER} (managed by 'parcelctl cron')"
MINUTE_STEPS = (5, 6, 10, 12, 15, 20, 30)
HOUR_STEPS = (1, 2, 3, 4, 6, 8, 12, 24)
ENV_KEPT = ("PARCELCTL_HOME", "PARCELCTL_SECRETS")


def parse_every(text: str, *, exact: bool = True) -> timedelta:
    """5m..24h; with ``exact`` only steps that divide an hour or a day (cron cannot do 45m)."""
    from ..errors import UsageError
    from .digest import parse_duration

    try:
        every = parse_duration(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not timedelta(minutes=5) <= every <= timedelta(hours=24):
        raise UsageError(f"--every {text}: choose between 5m and 24h",
                         hint="more often than every 5 minutes only burns API quota")
    seconds = int(every.total_seconds())
    if exact and not ((seconds < 3600 and seconds % 60 == 0 and seconds // 60 in MINUTE_STEPS)
                      or (seconds % 3600 == 0 and seconds // 3600 in HOUR_STEPS)):
        allowed = [f"{m}m" for m in MINUTE_STEPS] + [f"{h}h" for h in HOUR_STEPS]
        raise UsageError(f"--every {text} cannot be written as a crontab schedule",
                         hint=f"use one of {', '.join(allowed)} (or --systemd for any value)")
    return every


def schedule(every: timedelta, seed: int) -> str:
    """The five crontab time fields, evenly spaced, offset by ``seed``."""
    minutes = int(every.total_seconds()) // 60
    if minutes < 60:
        return f"{','.join(str(m) for m in range(seed % minutes, 60, minutes))} * * * *"
    hours = minutes // 60
    first_hour = (seed // 60) % hours
    return f"{seed % 60} {','.join(str(h) for h in range(first_hour, 24, hours))} * * *"


def _environment() -> list[tuple[str, str]]:
    found = []
    for name in ENV_KEPT:
        value = os.environ.get(name)
        if value:
            if name == "PARCELCTL_HOME":  # cron starts in $HOME: a relative path would move
                value = str(Path(value).expanduser().resolve())
            found.append((name, _no_controls(name, value)))
    return found


def _no_controls(what: str, value: str) -> str:
    """A newline in a path ends the crontab line (or the unit's line): what follows it
    becomes a job of its own. Quoting cannot help there, so such a path is refused."""
    from ..errors import UsageError

    if any(ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029" for c in value):
        raise UsageError(f"{what} contains a control character (such as a newline), which "
                         "would break the crontab or unit file",
                         hint=f"use a {what} without control characters")
    return value


def _python() -> str:
    import shutil

    return _no_controls("the Python path",
                        sys.executable or shutil.which("python3") or "python3")


def command() -> str:
    env = [f"{name}={shlex.quote(value)}" for name, value in _environment()]
    return " ".join([*env, shlex.quote(_python()), "-m", "parcelctl", "sync", "--quiet"])


def cron_line(every: timedelta) -> str:
    from ..config import get_paths

    seed = int(hashlib.sha256(str(get_paths().state_dir).encode()).hexdigest()[:8], 16)
    # A bare % ends the command in crontab (the rest becomes stdin): escape it.
    return f"{schedule(every, seed)} {command().replace('%', chr(92) + '%')} {TAG}"


# -- crontab I/O ----------------------------------------------------------------------------

def _crontab(*args: str, data: str | None = None) -> subprocess.CompletedProcess[str]:
    from ..errors import ConfigError

    program = shlex.split(os.environ.get("PARCELCTL_CRONTAB") or "crontab")
    try:
        return subprocess.run([*program, *args], input=data, capture_output=True, text=True,
                              timeout=30, check=False)
    except FileNotFoundError:
        raise ConfigError("the crontab program was not found",
                          hint="install cron, or use: parcelctl cron install --systemd") from None
    except subprocess.TimeoutExpired:
        raise ConfigError("crontab did not answer within 30s") from None


def read_crontab() -> str:
    from ..errors import ConfigError

    proc = _crontab("-l")
    if proc.returncode != 0:
        if "no crontab" in proc.stderr.lower():
            return ""
        raise ConfigError(f"'crontab -l' failed: {' '.join(proc.stderr.split())[:200]}")
    return proc.stdout


def write_crontab(text: str) -> None:
    from ..errors import ConfigError

    proc = _crontab("-", data=text)
    if proc.returncode != 0:
        raise ConfigError(f"'crontab -' refused the new table: "
                          f"{' '.join(proc.stderr.split())[:200]}")


def without_ours(text: str) -> tuple[list[str], list[str]]:
    """(other lines, our lines)."""
    lines = text.splitlines()
    return [ln for ln in lines if MARKER not in ln], [ln for ln in lines if MARKER in ln]


# -- systemd --------------------------------------------------------------------------------

def _sd_quote(value: str) -> str:
    value = value.replace("%", "%%")  # systemd specifiers
    if any(c in value for c in " \t\"'\\"):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def systemd_units(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    env = "".join(f"Environment={_sd_quote(f'{k}={v}')}\n" for k, v in _environment())
    return f"""\
# ~/.config/systemd/user/parcelctl-sync.service
[Unit]
Description=parcelctl: import orders and refresh due parcels

[Service]
Type=oneshot
{env}ExecStart={_sd_quote(_python())} -m parcelctl sync --quiet
# 5 = another sync was already running: not a failure
SuccessExitStatus=5

# ~/.config/systemd/user/parcelctl-sync.timer
[Unit]
Description=Run parcelctl sync every {seconds // 60} minutes

[Timer]
OnBootSec=5min
OnUnitActiveSec={seconds}s
RandomizedDelaySec={min(300, seconds // 10)}s

[Install]
WantedBy=timers.target

# then: systemctl --user daemon-reload && systemctl --user enable --now parcelctl-sync.timer"""


# -- commands -------------------------------------------------------------------------------

@app.command("install")
def install(
    every: str = typer.Option("30m", "--every", help="How often: 5m..24h (e.g. 15m, 1h)."),
    systemd: bool = typer.Option(False, "--systemd", help="Print a systemd user service and "
                                 "timer instead of touching the crontab."),
) -> None:
    """Add (or replace) the crontab line that runs 'parcelctl sync --quiet'."""
    from .output import info, warn

    interval = parse_every(every, exact=not systemd)
    if systemd:
        info(systemd_units(interval))
        return
    line = cron_line(interval)
    others, ours = without_ours(read_crontab())
    write_crontab("\n".join([*others, line]) + "\n")
    info(("replaced" if ours else "installed") + f": {line}")
    info("cron mails its output: 'sync --quiet' prints only what needs attention; "
         "details go to the log file in the parcelctl home", style="dim")
    if sys.platform.startswith("linux") and _uses_keyring():
        warn("secrets are in the desktop keyring, which cron jobs usually cannot open; if the "
             "job fails to authenticate, use PARCELCTL_SECRETS=file and set the secrets again")


def _uses_keyring() -> bool:
    from .common import load_config

    try:
        return load_config().secrets.backend == "keyring"
    except Exception:  # only a hint: never block the install
        return False


@app.command("remove")
def remove() -> None:
    """Delete the parcelctl line from the crontab (other lines stay)."""
    from .output import info

    others, ours = without_ours(read_crontab())
    if not ours:
        info("no parcelctl line in the crontab")
        return
    write_crontab("\n".join(others) + "\n" if others else "")
    info("removed: " + " | ".join(ours))


@app.command("show")
def show() -> None:
    """Print the parcelctl crontab line, if installed."""
    from .output import info

    _, ours = without_ours(read_crontab())
    if not ours:
        info("not installed — run: parcelctl cron install --every 30m")
        return
    for line in ours:
        info(line)
