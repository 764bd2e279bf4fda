"""Files of the home: private directories, owner-only files never opened through a link,
atomic writes. Below config and http, which both write files, so that neither imports the
other."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import ConfigError


def make_private_dir(directory: Path) -> None:
    """``mkdir -p`` where every directory created is 0700 (``parents=True`` made the
    missing parents with the umask's mode, 0755 or worse)."""
    missing: list[Path] = []
    node = directory
    while not node.exists() and node != node.parent:
        missing.append(node)
        node = node.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
        _chmod(path, 0o700)
    if not directory.is_dir():
        raise ConfigError(f"{directory} is a file, not a directory",
                          hint="move the file away, or point PARCELCTL_HOME elsewhere")


def open_private(path: Path, flags: int) -> int:
    """``os.open`` for a file of the home: created 0600 whatever the umask, and never
    through a symbolic link (a link planted as ``sync.lock`` or the log would have the
    file it points at truncated or appended to)."""
    fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
                 0o600)
    try:
        if flags & os.O_CREAT and stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    except OSError:
        pass  # not ours to change: the owner check refuses such homes
    return fd


def _chmod(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)
    except OSError:
        pass  # not ours (e.g. an existing shared directory): leave it


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write via a temp file in the same directory, fsync, rename: never a half file."""
    import tempfile  # json and tempfile are imported where used: list and show need neither

    if path.is_symlink():
        # os.replace would silently swap the link for a file (and a reader of the link's
        # target would never see the change).
        raise ConfigError(f"{path} is a symbolic link; parcelctl does not write through "
                          "links in its home", hint="replace it with a regular file")
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
