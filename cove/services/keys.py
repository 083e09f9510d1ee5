"""The private keys stored in the database (cluster CAs'), as a whole: check at start-up
that this process can open them and seal any still in the clear; re-encrypt them all under
the primary secret key (``cove keys rotate``). Each is one transaction."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cove.db import models
from cove.db.session import transaction
from cove.pki import keystore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyCensus:
    """How many stored private keys each secret key sealed ("" for ones in the clear)."""

    by_key: dict[str, int]

    @property
    def clear(self) -> int:
        return self.by_key.get("", 0)


def census(factory: sessionmaker[Session]) -> KeyCensus:
    with transaction(factory, write=False) as session:
        stored = session.scalars(select(models.ClusterCA.key_pem))
        return KeyCensus(dict(Counter(keystore.sealed_with(value) or "" for value in stored)))


def prepare(factory: sessionmaker[Session]) -> int:
    """At start-up: refuse a secret key that opens none of the sealed keys (a new machine
    given a fresh key instead of the shared one), warn of keys it cannot open, and seal the
    keys still in the clear, in one transaction. Returns how many it sealed."""
    with transaction(factory) as session:
        store = keystore.of(session)
        known = set(store.key_ids)
        rows = list(session.scalars(select(models.ClusterCA).with_for_update()))
        sealed_by = Counter(
            kid for row in rows if (kid := keystore.sealed_with(row.key_pem)) is not None
        )
        unknown = {kid: n for kid, n in sealed_by.items() if kid not in known}
        if unknown and len(unknown) == len(sealed_by):
            raise keystore.SecretKeyError(
                f"None of the {sum(unknown.values())} private keys in the database can be "
                f"decrypted with the secret key from {store.where} (they were sealed with "
                f"{', '.join(sorted(unknown))}; this process has {', '.join(store.key_ids)}). "
                f"Every cove process must use the same secret key: set {keystore.SETTING} "
                f"or {keystore.FILE_SETTING} to it, or restore the key file from backup."
            )
        if unknown:
            log.error(
                "%d private key(s) in the database were sealed with secret key(s) %s, which "
                "this process does not have (its keys are from %s): those clusters' CAs "
                "cannot be used here",
                sum(unknown.values()),
                ", ".join(sorted(unknown)),
                store.where,
            )
        clear = [row for row in rows if keystore.sealed_with(row.key_pem) is None]
        for row in clear:
            row.key_pem = store.seal(row.key_pem)
    if clear:
        log.warning(
            "sealed %d cluster CA private key(s) stored in the clear with secret key %s",
            len(clear),
            store.primary_id,
        )
    return len(clear)


def reencrypt(factory: sessionmaker[Session]) -> int:
    """Seal every stored private key with the primary secret key, in one transaction: all or
    none (a key this process cannot open fails it, naming the setting). Returns how many
    changed."""
    with transaction(factory) as session:
        store = keystore.of(session)
        changed = 0
        for row in session.scalars(select(models.ClusterCA).with_for_update()):
            if store.is_current(row.key_pem):
                continue
            what = f"the CA key (generation {row.generation}) of cluster {row.cluster_id}"
            row.key_pem = store.seal(store.open(row.key_pem, what=what))
            changed += 1
    log.info("re-encrypted %d private key(s) with secret key %s", changed, store.primary_id)
    return changed
