"""``cove keys``: the secret key sealing the private keys in the database (cluster CAs).

``rotate`` puts a new key first in the key file and re-encrypts every stored private key with
it in one transaction; the older keys stay in the file, opening only, so whatever a running
process sealed with one before it re-read the file stays readable. ``reencrypt --drop-old``
later seals any such stragglers with the primary key and removes the older keys. With the
key in ``COVE_SECRET_KEY`` the operator places the keys (``generate`` makes one) and
``reencrypt`` does the re-encryption. No command prints a key but ``generate``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cove.pki.keystore import Keystore
    from cove.settings import Settings


@contextmanager
def _open(settings: Settings) -> Iterator[tuple[Keystore, sessionmaker[Session]]]:
    from cove.db import migrate
    from cove.db.session import make_engine, make_session_factory
    from cove.pki import keystore

    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        store = keystore.load(settings)
        yield store, make_session_factory(engine, store)
    finally:
        engine.dispose()


def rotate(settings: Settings) -> None:
    from cove.pki import keystore
    from cove.services import keys

    if settings.secret_key.get_secret_value().strip():
        raise click.ClickException(
            f"the secret key comes from {keystore.SETTING}, which cove cannot change: put a "
            "new key (cove keys generate) first in it on every process, restart them, then "
            "run `cove keys reencrypt` (docs/production.md, Keys at rest)"
        )
    path = settings.secret_key_path
    with _open(settings) as (store, factory):
        keys.prepare(factory)
        # The new key first; from now on every process seals with it (each re-reads the file).
        # If re-encryption then fails, nothing was re-encrypted and the old keys open all.
        keystore.write_key_file(path, [keystore.generate_key(), *keystore.read_key_file(path)])
        count = keys.reencrypt(factory)
    click.echo(f"secret key {store.primary_id} is now the primary key in {path}")
    click.echo(f"re-encrypted {count} private key(s) with it")
    click.echo(
        f"older key(s) {', '.join(store.key_ids[1:])} still open what they sealed; once every "
        "cove process has re-read the file (at its next use of a key), run "
        "`cove keys reencrypt --drop-old` to remove them"
    )


def reencrypt(settings: Settings, drop_old: bool) -> None:
    from cove.pki import keystore
    from cove.services import keys

    with _open(settings) as (store, factory):
        keys.prepare(factory)
        count = keys.reencrypt(factory)
    click.echo(f"re-encrypted {count} private key(s) with secret key {store.primary_id}")
    if not drop_old:
        return
    if settings.secret_key.get_secret_value().strip():
        click.echo(
            f"{keystore.SETTING} is set: remove the older keys from it on every process yourself"
        )
        return
    path = settings.secret_key_path
    dropped = store.key_ids[1:]
    keystore.write_key_file(path, keystore.read_key_file(path)[:1])
    click.echo(f"removed older key(s) from {path}: {', '.join(dropped) or 'none'}")


def status(settings: Settings) -> None:
    from cove.services import keys

    with _open(settings) as (store, factory):
        census = keys.census(factory)
    primary, *older = store.key_ids
    click.echo(f"secret keys from {store.where}")
    click.echo(f"primary key: {primary}; older keys: {', '.join(older) or 'none'}")
    for kid, count in sorted(census.by_key.items()):
        if not kid:
            continue
        note = "primary" if kid == primary else ("older" if kid in older else "NOT AVAILABLE")
        click.echo(f"{count} private key(s) sealed with {kid} ({note})")
    if census.clear:
        click.echo(f"{census.clear} private key(s) in the clear (sealed at the next start)")


def generate() -> None:
    from cove.pki import keystore

    click.echo(keystore.generate_key())
