"""Files only their owner may read: the state directory (0700), the SQLite database and its
-wal/-shm files (0600), the secret key file (0600). Made with those modes; ones that exist
with looser modes (earlier versions made them 0755/0644) are tightened, with a log line."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) 0700, or tighten it to 0700 if others may read it."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        path.chmod(PRIVATE_DIR)  # mkdir's mode passes through the umask
        return path
    _tighten(path, PRIVATE_DIR, "directory")
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 if missing (its directory must exist), or tighten it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        _tighten(path, PRIVATE_FILE, "file")
    else:
        os.close(fd)
    return path


def _tighten(path: Path, mode: int, what: str) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        path.chmod(mode)
        log.warning(
            "%s %s was open to other users (mode %04o): now %04o", what, path, current, mode
        )
