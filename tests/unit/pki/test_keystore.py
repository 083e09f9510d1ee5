"""The keystore sealing private keys at rest: what it stores, what it refuses, and that no
key (secret or private) shows in a repr or an error."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from cove.db import models
from cove.db.session import make_engine, make_session_factory, transaction
from cove.pki import ca, keystore
from cove.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def authority() -> ca.KeyPair:
    return ca.create_ca("c1")


def test_sealed_form_names_the_scheme_and_key_and_opens_back(authority: ca.KeyPair) -> None:
    key = keystore.generate_key()
    store = keystore.Keystore([key], where="test")
    sealed = store.seal(authority.key_pem)
    assert sealed.startswith(f"fernet:{keystore.key_id(key)}:")
    assert "PRIVATE KEY" not in sealed and key not in sealed
    assert keystore.sealed_with(sealed) == keystore.key_id(key)
    assert store.open(sealed) == authority.key_pem
    assert store.is_current(sealed)


def test_a_clear_pem_from_before_is_recognised(authority: ca.KeyPair) -> None:
    store = keystore.Keystore([keystore.generate_key()], where="test")
    assert keystore.sealed_with(authority.key_pem) is None
    assert store.open(authority.key_pem) == authority.key_pem
    assert not store.is_current(authority.key_pem)


def test_old_keys_open_what_they_sealed_and_the_first_seals(authority: ca.KeyPair) -> None:
    old, new = keystore.generate_key(), keystore.generate_key()
    by_old = keystore.Keystore([old], where="test").seal(authority.key_pem)
    both = keystore.Keystore([new, old], where="test")
    assert both.open(by_old) == authority.key_pem
    assert not both.is_current(by_old)
    resealed = both.seal(both.open(by_old))
    assert keystore.sealed_with(resealed) == keystore.key_id(new)
    assert keystore.Keystore([new], where="test").open(resealed) == authority.key_pem


def test_a_key_sealed_elsewhere_is_refused_naming_the_setting(authority: ca.KeyPair) -> None:
    other = keystore.generate_key()
    sealed = keystore.Keystore([other], where="test").seal(authority.key_pem)
    mine = keystore.generate_key()
    store = keystore.Keystore([mine], where="setting secret_key (COVE_SECRET_KEY)")
    with pytest.raises(keystore.SecretKeyError) as caught:
        store.open(sealed, what="cluster c1's CA key")
    message = str(caught.value)
    assert "cluster c1's CA key" in message and "COVE_SECRET_KEY" in message
    assert keystore.key_id(other) in message
    assert other not in message and mine not in message and "PRIVATE" not in message


def test_a_damaged_value_is_refused_without_a_traceback_of_tokens(
    authority: ca.KeyPair,
) -> None:
    key = keystore.generate_key()
    store = keystore.Keystore([key], where="test")
    sealed = store.seal(authority.key_pem)
    damaged = sealed[:-8] + ("A" if sealed[-8] != "A" else "B") + sealed[-7:]
    with pytest.raises(keystore.SecretKeyError, match="damaged"):
        store.open(damaged)


def test_a_malformed_secret_key_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(keystore.SecretKeyError) as caught:
        keystore.load(Settings(state_dir=tmp_path, secret_key="hunter2"))
    assert "COVE_SECRET_KEY" in str(caught.value) and "cove keys generate" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_reprs_show_no_key(authority: ca.KeyPair, tmp_path: Path) -> None:
    key = keystore.generate_key()
    settings = Settings(state_dir=tmp_path, secret_key=key)
    store = keystore.load(settings)
    for shown in (repr(store), repr(settings), str(settings), repr(authority)):
        assert key not in shown and "PRIVATE KEY" not in shown
    assert keystore.key_id(key) in repr(store)


def test_first_start_makes_a_private_key_file_in_a_private_state_dir(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    with caplog.at_level(logging.INFO):
        store = keystore.load(Settings(state_dir=state))
    key_file = state / "secret.key"
    assert _mode(state) == 0o700 and _mode(key_file) == 0o600
    keys = keystore.read_key_file(key_file)
    assert len(keys) == 1 and store.key_ids == [keystore.key_id(keys[0])]
    assert any("back it up" in r.getMessage() for r in caplog.records)
    assert not any(keys[0] in r.getMessage() for r in caplog.records)
    # The next start reads the same key.
    assert keystore.load(Settings(state_dir=state)).key_ids == store.key_ids


def test_a_key_file_open_to_others_is_tightened_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keystore.load(Settings(state_dir=tmp_path))
    key_file = tmp_path / "secret.key"
    key_file.chmod(0o644)
    tmp_path.chmod(0o755)
    with caplog.at_level(logging.WARNING):
        keystore.load(Settings(state_dir=tmp_path))
    assert _mode(key_file) == 0o600 and _mode(tmp_path) == 0o700
    lines = [r.getMessage() for r in caplog.records]
    assert any(str(key_file) in line and "0644" in line for line in lines)


def test_two_first_starts_at_once_keep_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    first, second = keystore.generate_key(), keystore.generate_key()
    assert keystore.write_key_file(path, [first], exclusive=True)
    assert not keystore.write_key_file(path, [second], exclusive=True)
    assert keystore.read_key_file(path) == [first]
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]


def test_a_running_process_rereads_a_rotated_key_file(
    tmp_path: Path, authority: ca.KeyPair
) -> None:
    path = tmp_path / "secret.key"
    old, new = keystore.generate_key(), keystore.generate_key()
    keystore.write_key_file(path, [old])
    running = keystore.Keystore.from_file(path)
    keystore.write_key_file(path, [new, old])  # `cove keys rotate` in another process
    sealed_elsewhere = keystore.Keystore([new], where="test").seal(authority.key_pem)
    assert running.open(sealed_elsewhere) == authority.key_pem
    assert keystore.sealed_with(running.seal(authority.key_pem)) == keystore.key_id(new)


def test_a_session_factory_without_a_keystore_refuses_to_store_a_key(
    tmp_path: Path, authority: ca.KeyPair
) -> None:
    from cove.db import migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'cove.db'}")
    migrate.upgrade(engine)
    cluster = models.Cluster(
        name="c1", project_id="p", user_id="u", cluster_template_id="t", status="X"
    )
    with (
        pytest.raises(keystore.SecretKeyError, match="COVE_SECRET_KEY"),
        transaction(make_session_factory(engine)) as session,
    ):
        session.add(cluster)
        session.flush()
        session.add(
            models.ClusterCA(
                cluster_id=cluster.id, cert_pem=authority.cert_pem, key_pem=authority.key_pem
            )
        )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cluster_cas")).scalar() == 0
    engine.dispose()


def test_sqlite_files_are_their_owners_only_whatever_the_umask(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    database = directory / "cove.db"
    previous = os.umask(0)
    try:
        engine = make_engine(f"sqlite:///{database}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:  # the WAL and its index exist while connected
            assert conn.execute(text("SELECT x FROM t")).scalar() == 1
            companions = [database.with_name(f"cove.db{s}") for s in ("-wal", "-shm")]
            assert all(p.exists() for p in companions)
            assert {p.name: _mode(p) for p in companions} == {
                "cove.db-wal": 0o600,
                "cove.db-shm": 0o600,
            }
        engine.dispose()
    finally:
        os.umask(previous)
    assert _mode(directory) == 0o700 and _mode(database) == 0o600


def test_an_existing_world_readable_database_is_tightened_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "cove.db"
    for name in ("cove.db", "cove.db-wal", "cove.db-shm"):
        (tmp_path / name).touch(mode=0o644)
        (tmp_path / name).chmod(0o644)
    with caplog.at_level(logging.WARNING):
        make_engine(f"sqlite:///{database}").dispose()
    assert {p.name: _mode(p) for p in tmp_path.iterdir()} == {
        "cove.db": 0o600,
        "cove.db-wal": 0o600,
        "cove.db-shm": 0o600,
    }
    lines = [r.getMessage() for r in caplog.records]
    assert any(str(database) in line and "0644" in line and "0600" in line for line in lines)
