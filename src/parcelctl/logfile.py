"""The log file in the home: rotated, owner-only, redacted like every other output."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path


def attach_log_file(path: Path, *, max_bytes: int = 1_000_000, backups: int = 3) -> None:
    from .redaction import RedactingFilter

    root = logging.getLogger("parcelctl")
    if any(getattr(h, "_parcelctl_file", False) for h in root.handlers):
        return
    from .homefiles import make_private_dir

    make_private_dir(path.parent)
    handler = _PrivateRotatingHandler(path, maxBytes=max_bytes, backupCount=backups,
                                      encoding="utf-8")
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    handler._parcelctl_file = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        # Console handlers keep their own level; the file wants INFO and above.
        for h in root.handlers:
            if not getattr(h, "_parcelctl_file", False) and h.level == logging.NOTSET:
                h.setLevel(root.level)
        root.setLevel(logging.INFO)


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """Every log file it opens, the fresh one after a rotation included, is 0600 whatever
    the umask (``open()`` made it 0644, 0666 under umask 000), and never a planted link."""

    def _open(self):  # type: ignore[no-untyped-def]  # typeshed types it loosely
        from .homefiles import open_private

        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)
