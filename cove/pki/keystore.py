"""Private keys at rest: every private key cove stores in its database (a cluster CA's) is
sealed with a secret key, the key-encryption key, held outside the database.

The secret key is one or more Fernet keys (``cryptography.fernet``: AES-128-CBC and
HMAC-SHA256), the first sealing and all of them opening (``MultiFernet``), so a rotation adds
a new first key while the old ones still open what they sealed. They come from the setting
``secret_key`` (``COVE_SECRET_KEY``, comma-separated) when set, else from the file
``secret_key_file`` (one key a line, default ``<state_dir>/secret.key``), which is made on
first start, mode 0600. A file is re-read when it changes, so a running process picks up
``cove keys rotate``.

The stored form names its scheme and key: ``fernet:<key id>:<token>``, the key id being the
first 8 hex digits of the key's SHA-256 (it tells which key sealed a row, and nothing of the
key). A row still in the clear (a PEM, from before keys were sealed) is recognised: it opens
as itself, and start-up seals it (``cove.services.keys``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from cove import errors, failures, filemodes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cove.settings import Settings

log = logging.getLogger(__name__)

SCHEME = "fernet"
SESSION_INFO = "cove.keystore"
CLEAR_MARKER = "-----BEGIN"
SETTING = "secret_key (COVE_SECRET_KEY)"
FILE_SETTING = "secret_key_file (COVE_SECRET_KEY_FILE)"


class SecretKeyError(errors.CoveError, failures.Temporary):
    """The secret key is missing, malformed or not the one a stored key was sealed with.
    Its message names the setting, never a key. A conductor retries it (another conductor,
    or this one after its key file is fixed, may succeed) until the operation's deadline."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def generate_key() -> str:
    return Fernet.generate_key().decode()


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def sealed_with(stored: str) -> str | None:
    """The key id a stored value was sealed with; None for a value in the clear."""
    if stored.startswith(f"{SCHEME}:"):
        parts = stored.split(":", 2)
        return parts[1] if len(parts) == 3 else ""
    return None


def _parse(keys: Sequence[str], where: str) -> list[Fernet]:
    if not keys:
        raise SecretKeyError(f"{where} holds no secret key.")
    fernets = []
    for number, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"Secret key number {number} in {where} is not a Fernet key (32 url-safe "
                "base64-encoded bytes; make one with `cove keys generate`)."
            ) from None
    return fernets


class Keystore:
    """Seals and opens private keys. Its repr names where the keys come from and their ids:
    never a key."""

    def __init__(self, keys: Sequence[str], *, where: str, path: Path | None = None) -> None:
        self.where = where
        self.path = path
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._install(keys)

    def _install(self, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet(_parse(keys, self.where))
        self._ids = [key_id(k) for k in keys]
        self._by_id = dict(zip(self._ids, (Fernet(k.encode()) for k in keys), strict=True))

    @classmethod
    def from_file(cls, path: Path) -> Keystore:
        store = cls(read_key_file(path), where=f"the key file {path}", path=path)
        store._signature = _signature(path)
        return store

    def __repr__(self) -> str:
        return f"Keystore(where={self.where!r}, key_ids={self._ids!r})"

    @property
    def primary_id(self) -> str:
        self._refresh()
        return self._ids[0]

    @property
    def key_ids(self) -> list[str]:
        self._refresh()
        return list(self._ids)

    def seal(self, pem: str) -> str:
        self._refresh()
        token = self._fernet.encrypt(pem.encode()).decode()
        return f"{SCHEME}:{self._ids[0]}:{token}"

    def open(self, stored: str, *, what: str = "a stored private key") -> str:
        kid = sealed_with(stored)
        if kid is None:
            return stored  # in the clear: written before keys were sealed
        self._refresh(unless_known=kid)
        fernet = self._by_id.get(kid)
        if fernet is None:
            raise SecretKeyError(
                f"Cannot decrypt {what}: it was sealed with secret key {kid or '?'}, which "
                f"this process does not have (its keys: {', '.join(self._ids)}, from "
                f"{self.where}). Every cove process must use the same secret key: set "
                f"{SETTING} or {FILE_SETTING} alike everywhere, or restore the key from backup."
            )
        try:
            return fernet.decrypt(stored.split(":", 2)[2].encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                f"Cannot decrypt {what} with secret key {kid} from {self.where}: the stored "
                "value is damaged, or the key is not the one that sealed it."
            ) from None

    def is_current(self, stored: str) -> bool:
        """Sealed with the primary key: nothing to re-encrypt."""
        return sealed_with(stored) == self.primary_id

    def _refresh(self, unless_known: str | None = None) -> None:
        """Re-read the key file if it changed (``cove keys rotate`` in another process)."""
        if self.path is None or (unless_known is not None and unless_known in self._by_id):
            return
        with self._lock:
            try:
                signature = _signature(self.path)
            except OSError:
                return  # keep the keys we have; a rewrite renames a new file into place
            if signature != self._signature:
                self._install(read_key_file(self.path))
                self._signature = signature
                log.info("secret keys re-read from %s: %s", self.path, ", ".join(self._ids))


def _signature(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def read_key_file(path: Path) -> list[str]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise SecretKeyError(
            f"Cannot read the secret key file {path} (setting {FILE_SETTING}): "
            f"{exc.strerror or exc}."
        ) from None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def write_key_file(path: Path, keys: Sequence[str], *, exclusive: bool = False) -> bool:
    """Write ``keys`` (first: the primary) to ``path``, 0600 in a 0700 directory, atomically:
    a reader sees the old file or the new one. ``exclusive``: only if no file exists yet
    (first start; two processes starting at once keep one key). Returns whether it wrote."""
    _parse(keys, str(path))
    if not path.parent.exists():
        filemodes.private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, filemodes.PRIVATE_FILE)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(
                "# cove's secret keys: the first seals, all open. Keep a copy: without it, the\n"
                "# clusters' CA keys in the database cannot be read. See docs/production.md.\n"
            )
            handle.writelines(f"{key}\n" for key in keys)
            handle.flush()
            os.fsync(handle.fileno())
        if not exclusive:
            temporary.replace(path)
            return True
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def load(settings: Settings) -> Keystore:
    """The keystore of ``settings``: ``secret_key`` if set, else the key file, made (with a
    new key) if missing."""
    configured = settings.secret_key.get_secret_value().strip()
    if configured:
        keys = [key.strip() for key in configured.split(",") if key.strip()]
        return Keystore(keys, where=f"setting {SETTING}")
    path = settings.secret_key_path
    if not path.exists():
        if write_key_file(path, [generate_key()], exclusive=True):
            log.warning(
                "made a new secret key in %s: it seals the clusters' CA keys in the database; "
                "back it up (see docs/production.md, Keys at rest)",
                path,
            )
    else:
        if path.parent == settings.state_dir:
            filemodes.private_dir(path.parent)
        filemodes.private_file(path)
    return Keystore.from_file(path)


def of(session: Session) -> Keystore:
    """The keystore the session's factory was made with (``make_session_factory``)."""
    store = session.info.get(SESSION_INFO)
    if not isinstance(store, Keystore):
        raise SecretKeyError(
            "This process has no secret key to seal or open private keys with (its database "
            f"sessions were made without one): set {SETTING} or {FILE_SETTING}."
        )
    return store
