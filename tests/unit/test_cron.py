"""cron install/remove/show against a fake crontab program (the real one is never touched)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from parcelctl.cli.app import main
from parcelctl.cli.cron import MARKER, schedule

FAKE_CRONTAB = """\
import pathlib, sys
table = pathlib.Path(sys.argv[1])
if sys.argv[2] == "-l":
    if not table.exists():
        sys.stderr.write("no crontab for tester\\n")
        sys.exit(1)
    sys.stdout.write(table.read_text())
elif sys.argv[2] == "-":
    table.write_text(sys.stdin.read())
else:
    sys.exit(2)
"""

OTHER_LINES = "MAILTO=me@example.com\n# backups\n0 3 * * * /usr/local/bin/backup --all\n"


@pytest.fixture
def crontab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake_crontab.py"
    script.write_text(FAKE_CRONTAB)
    table = tmp_path / "table"
    monkeypatch.setenv("PARCELCTL_CRONTAB", shlex.join([sys.executable, str(script),
                                                        str(table)]))
    return table


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def ours(table: Path) -> list[str]:
    return [line for line in table.read_text().splitlines() if MARKER in line]


def test_install_show_remove(crontab: Path, capsys: pytest.CaptureFixture[str],
                             parcelctl_home: Path) -> None:
    code, out, _ = run(capsys, "cron", "show")
    assert code == 0 and "not installed" in out
    assert not crontab.exists()  # show only reads

    code, out, _ = run(capsys, "cron", "install")
    assert code == 0 and out.startswith("installed: ")
    (line,) = ours(crontab)
    assert line.endswith("# parcelctl:sync (managed by 'parcelctl cron')")
    assert f"{sys.executable} -m parcelctl sync --quiet" in line
    assert f"PARCELCTL_HOME={parcelctl_home}" in line
    assert "PARCELCTL_SECRETS=file" in line
    minutes = line.split()[0].split(",")
    assert len(minutes) == 2 and int(minutes[1]) - int(minutes[0]) == 30  # every 30 minutes
    assert line.split()[1:5] == ["*", "*", "*", "*"]
    assert crontab.read_text().endswith("\n")  # cron ignores a last line without newline

    code, out, _ = run(capsys, "cron", "show")
    assert code == 0 and out.strip() == line

    code, out, _ = run(capsys, "cron", "remove")
    assert code == 0 and out.startswith("removed: ")
    assert crontab.read_text() == ""
    code, out, _ = run(capsys, "cron", "remove")
    assert code == 0 and "no parcelctl line" in out


def test_other_lines_are_kept_and_install_replaces(crontab: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    crontab.write_text(OTHER_LINES)
    assert run(capsys, "cron", "install", "--every", "15m")[0] == 0
    assert run(capsys, "cron", "install", "--every", "2h")[0] == 0  # replaces, never duplicates
    text = crontab.read_text()
    assert text.startswith(OTHER_LINES)
    (line,) = ours(crontab)
    fields = line.split()
    assert fields[0].isdigit() and len(fields[1].split(",")) == 12  # once every 2 hours
    code, out, _ = run(capsys, "cron", "install", "--every", "2h")
    assert code == 0 and out.startswith("replaced: ")
    assert run(capsys, "cron", "remove")[0] == 0
    assert crontab.read_text() == OTHER_LINES


@pytest.mark.parametrize(("every", "message"), [
    ("4m", "between 5m and 24h"), ("25h", "between 5m and 24h"), ("2d", "between 5m and 24h"),
    ("45m", "cannot be written as a crontab schedule"), ("90m", "cannot be written"),
    ("soon", "not a duration"), ("0m", "not a positive duration"),
])
def test_every_is_validated(every: str, message: str, crontab: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cron", "install", "--every", every)
    assert code == 1
    assert message in err and err.startswith("error:")
    assert not crontab.exists()


@pytest.mark.parametrize(("every", "seed", "expected"), [
    (timedelta(minutes=30), 7, "7,37 * * * *"),
    (timedelta(minutes=5), 63, "3,8,13,18,23,28,33,38,43,48,53,58 * * * *"),
    (timedelta(minutes=20), 0, "0,20,40 * * * *"),
    (timedelta(hours=1), 125, "5 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23"
     " * * *"),
    (timedelta(hours=8), 125, "5 2,10,18 * * *"),
    (timedelta(hours=24), 15 * 60 + 59 + 24 * 60 * 5, "59 15 * * *"),
])
def test_schedule_is_even_and_offset(every: timedelta, seed: int, expected: str) -> None:
    assert schedule(every, seed) == expected


def test_percent_is_escaped_for_cron(crontab: Path, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "100%home"
    monkeypatch.setenv("PARCELCTL_HOME", str(home))
    assert run(capsys, "cron", "install")[0] == 0
    (line,) = ours(crontab)
    assert "100\\%home" in line and "100%home" not in line.replace("\\%", "")


def test_systemd_prints_units_and_leaves_crontab_alone(crontab: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       parcelctl_home: Path) -> None:
    code, out, _ = run(capsys, "cron", "install", "--systemd", "--every", "45m")
    assert code == 0
    assert not crontab.exists()
    assert "[Timer]" in out and "OnUnitActiveSec=2700s" in out
    assert f"ExecStart={sys.executable} -m parcelctl sync --quiet" in out
    assert f"Environment=PARCELCTL_HOME={parcelctl_home}" in out
    assert "SuccessExitStatus=5" in out
    assert "systemctl --user enable --now parcelctl-sync.timer" in out


def test_the_installed_line_runs_in_crons_bare_environment(
        crontab: Path, capsys: pytest.CaptureFixture[str], parcelctl_home: Path) -> None:
    assert run(capsys, "cron", "install")[0] == 0
    (line,) = ours(crontab)
    command = line.split(None, 5)[5].split(MARKER)[0]
    done = subprocess.run(["/bin/sh", "-c", command], env={"PATH": "/usr/bin:/bin"},
                          cwd="/", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # nothing needs attention: cron mails nothing
    assert (parcelctl_home / "parcels.db").exists()
    assert (parcelctl_home / "parcelctl.log").exists()


def test_crontab_failures_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PARCELCTL_CRONTAB", str(tmp_path / "missing-crontab"))
    code, _, err = run(capsys, "cron", "show")
    assert code == 1 and "crontab program was not found" in err
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho 'crontab: permission denied' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PARCELCTL_CRONTAB", str(broken))
    code, _, err = run(capsys, "cron", "install")
    assert code == 1 and "permission denied" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("evil", ["\n* * * * * touch /tmp/pwned", "\r0 0 * * * x", "\x1b[2J",
                                  "\u2028* * * * * x"])
@pytest.mark.parametrize("systemd", [False, True])
def test_a_control_character_in_a_path_is_refused(
        crontab: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, evil: str, systemd: bool) -> None:
    """Issue 16 item 20: a newline in PARCELCTL_HOME wrote a second crontab job."""
    monkeypatch.setenv("PARCELCTL_HOME", str(tmp_path / f"home{evil}"))
    code, out, err = run(capsys, "cron", "install", *(["--systemd"] if systemd else []))
    assert code == 1
    assert "control character" in err and len(err.strip().splitlines()) == 1
    assert not crontab.exists()
    assert "pwned" not in out
