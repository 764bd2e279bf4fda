"""Files and local attacks (issue 16 items 18-19): every file parcelctl creates is 0600
(rotated logs included), missing parents of the home are 0700, no file of the home is
opened through a planted symbolic link, and a home someone else owns is refused."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from parcelctl.config import Config, get_paths
from parcelctl.errors import ConfigError
from parcelctl.lock import SyncLock
from parcelctl.logfile import attach_log_file
from tests.integration.clihelp import assert_one_line_error, cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def detached_log() -> Iterator[None]:
    yield
    root = logging.getLogger("parcelctl")
    for handler in list(root.handlers):
        if getattr(handler, "_parcelctl_file", False):
            root.removeHandler(handler)
            handler.close()


def test_rotated_logs_are_owner_only(tmp_path: Path, open_umask: None, detached_log: None
                                     ) -> None:
    log = tmp_path / "parcelctl.log"
    attach_log_file(log, max_bytes=200, backups=2)
    for i in range(30):
        logging.getLogger("parcelctl.test").warning("line %d %s", i, "x" * 40)
    files = sorted(tmp_path.glob("parcelctl.log*"))
    assert len(files) == 3  # rotated twice at least
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_missing_parents_of_the_home_are_private(tmp_path: Path, open_umask: None) -> None:
    home = tmp_path / "a" / "b" / "home"
    result = cli("config", "set", "display.language", "en", env={"PARCELCTL_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    for directory in (tmp_path / "a", tmp_path / "a" / "b", home):
        assert _mode(directory) == 0o700, directory
    for path in home.iterdir():
        assert _mode(path) == 0o600, path


@pytest.mark.parametrize("name", ["sync.lock", "parcelctl.log"])
def test_a_planted_link_is_not_followed(parcelctl_home: Path, tmp_path: Path, name: str,
                                        detached_log: None) -> None:
    get_paths().ensure()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    (parcelctl_home / name).symlink_to(victim)
    with pytest.raises(OSError, match=r"link|symbolic|Too many levels"):
        if name == "sync.lock":
            with SyncLock(parcelctl_home / name):
                pass
        else:
            attach_log_file(parcelctl_home / name)
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_a_planted_lock_link_is_one_line_from_sync(parcelctl_home: Path, tmp_path: Path
                                                   ) -> None:
    get_paths().ensure()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    (parcelctl_home / "sync.lock").symlink_to(victim)
    err = assert_one_line_error(cli("sync"))
    assert "symbolic link" in err
    assert victim.read_text(encoding="utf-8") == "precious\n"


@pytest.mark.parametrize("name", ["config.toml", "secrets.json"])
def test_config_and_secrets_links_are_refused_not_replaced(parcelctl_home: Path,
                                                           tmp_path: Path, name: str) -> None:
    get_paths().ensure()
    target = tmp_path / f"elsewhere-{name}"
    target.write_text("{}\n" if name.endswith("json") else "", encoding="utf-8")
    (parcelctl_home / name).symlink_to(target)
    key, value = (("providers.kuaidi100.key", "K1") if name == "secrets.json"
                  else ("display.language", "en"))
    err = assert_one_line_error(cli("config", "set", key, value))
    assert "symbolic link" in err
    assert (parcelctl_home / name).is_symlink()  # not silently replaced


def test_a_home_owned_by_someone_else_is_refused(parcelctl_home: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    get_paths().ensure()
    owner = parcelctl_home.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    with pytest.raises(ConfigError, match="belongs to another user"):
        Config()
