"""Build the in-memory tar archives that ``put_archive`` unpacks at ``/`` in a node.

Only file entries are written, never directory entries: the engine creates missing parent
directories itself (mode 0755, owned by root), and a directory entry would *overwrite* the
mode and owner of a directory that already exists (measured on Engine 20.10: a ``tmp/`` entry
turns ``/tmp`` from 1777 into 0755). So ``/etc/docker/certs/ca.pem`` lands in a new
``/etc/docker/certs`` without touching ``/etc``.

Pure functions; no Docker calls here.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import time
from collections.abc import Mapping


def archive_name(path: str) -> str:
    """The member name for an absolute path inside the node (``/etc/x`` -> ``etc/x``).

    Raises:
        ValueError: the path is not absolute, names a directory, or climbs with ``..``.
    """
    if not path.startswith("/") or path.endswith("/"):
        raise ValueError(f"{path!r} is not an absolute file path")
    if ".." in path.split("/"):
        raise ValueError(f"{path!r} must not contain '..'")
    name = posixpath.normpath(path).lstrip("/")
    if not name or name == ".":
        raise ValueError(f"{path!r} is not an absolute file path")
    return name


def build_tar(
    files: Mapping[str, bytes], *, mode: int = 0o600, mtime: float | None = None
) -> bytes:
    """A tar archive holding ``files`` (absolute path -> content), each with ``mode``, owned
    by root, meant to be unpacked at ``/``.

    Raises:
        ValueError: a path is not an absolute file path (see :func:`archive_name`).
    """
    stamp = int(time.time() if mtime is None else mtime)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(archive_name(path))
            info.size = len(content)
            info.mode = mode
            info.mtime = stamp
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
