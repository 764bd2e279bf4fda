"""Files of the parcelctl home, made safe: private modes whatever the umask, no writing
through a planted symbolic link, and one-line explanations when the disk says no."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import ConfigError


def _chmod(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)
    except OSError:
        pass  # not ours (e.g. an existing shared directory): leave it


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


def explain_os_error(exc: BaseException) -> ConfigError | None:
    """A file of the home that cannot be written (read-only disk, permissions, a planted
    link) as one line naming it; ``None`` for anything else."""
    import errno

    if not isinstance(exc, OSError) or not exc.filename:
        return None
    name = Path(os.fsdecode(exc.filename))
    if exc.errno == errno.EROFS:
        return ConfigError(f"{name.parent} is read-only (cannot write {name.name})",
                           hint="reading still works; to change anything, make it writable "
                                "or point PARCELCTL_HOME at a writable copy")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ConfigError(f"{name}: permission denied",
                           hint=f"check the owner and mode of {name.parent}")
    if exc.errno == errno.ELOOP:
        return ConfigError(f"{name} is a symbolic link; parcelctl does not follow links in "
                           "its home", hint="replace it with a regular file")
    return None


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
