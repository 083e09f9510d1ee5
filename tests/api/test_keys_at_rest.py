"""Private keys at rest, on SQLite and PostgreSQL: the database never holds a private key in
the clear (after a create, a CA rotation, or a start-up that finds one from before), CSR
signing still works, a key this process cannot open is refused naming the setting, and
`cove keys rotate` re-encrypts every key so that the new secret key alone opens them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from sqlalchemy import select, update

from cove.cli.main import cli
from cove.conductor import snapshot
from cove.db import models
from cove.db.session import make_engine, make_session_factory, transaction
from cove.pki import keystore
from cove.services import keys
from tests.api.test_certificates import _csr
from tests.conftest import Api, error_detail, template_body

MakeApi = Callable[..., Api]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def api(make_api: MakeApi, state: Path) -> Api:
    return make_api(state_dir=state)


def _create(api: Api, name: str) -> None:
    response = api.post("/v1/clusters", json={"name": name, "cluster_template_id": "swarm-tpl"})
    assert response.status_code == 202, response.text
    api.settle()


@pytest.fixture
def template(api: Api, catalog: dict[str, Any]) -> None:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201


def _stored(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        values = list(conn.scalars(select(models.ClusterCA.key_pem).order_by(models.ClusterCA.id)))
    engine.dispose()
    return values


def _no_clear_key_anywhere(db_url: str) -> None:
    """No table of the database holds a PEM private key."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        for table in models.Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                assert "PRIVATE KEY" not in str(tuple(row)), table.name
    engine.dispose()


def _sign(api: Api, name: str) -> x509.Certificate:
    csr, _key = _csr()
    response = api.post("/v1/certificates", json={"cluster_uuid": name, "csr": csr})
    assert response.status_code == 201, response.text
    cert = x509.load_pem_x509_certificate(response.json()["pem"].encode())
    ca = x509.load_pem_x509_certificate(api.get(f"/v1/certificates/{name}").json()["pem"].encode())
    cert.verify_directly_issued_by(ca)
    return cert


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


def _keys(state: Path) -> list[str]:
    return keystore.read_key_file(state / "secret.key")


def test_create_sign_and_rotate_keep_every_private_key_sealed(
    api: Api, template: None, db_url: str, state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        _create(api, "c1")
        [stored] = _stored(db_url)
        (secret,) = _keys(state)
        assert stored.startswith(f"fernet:{keystore.key_id(secret)}:")
        _no_clear_key_anywhere(db_url)
        _sign(api, "c1")
        assert api.patch("/v1/certificates/c1").status_code == 202
        api.settle()
        assert api.get("/v1/clusters/c1").json()["status"] == "UPDATE_COMPLETE"
        assert len(_stored(db_url)) == 2
        assert all(v.startswith("fernet:") for v in _stored(db_url))
        _no_clear_key_anywhere(db_url)
        _sign(api, "c1")  # with the new CA
    logged = _logged(caplog)
    assert "PRIVATE KEY" not in logged and secret not in logged


def test_the_snapshot_a_driver_gets_has_the_key_open_but_never_shows_it(
    api: Api, template: None
) -> None:
    _create(api, "c1")
    with transaction(api.runner.factory, write=False) as session:
        cluster = session.scalar(select(models.Cluster))
        assert cluster is not None
        spec = snapshot.cluster_spec(session, cluster)
    assert "PRIVATE KEY" in spec.ca_key_pem
    assert "PRIVATE KEY" not in repr(spec) and spec.ca_key_pem not in str(spec)


def test_a_key_stored_in_the_clear_is_sealed_at_the_next_start(
    make_api: MakeApi, api: Api, template: None, db_url: str, state: Path
) -> None:
    _create(api, "c1")
    before = _sign(api, "c1").issuer
    # A row as cove wrote it before keys were sealed.
    with transaction(api.runner.factory) as session:
        authority = session.scalar(select(models.ClusterCA))
        assert authority is not None
        clear = keystore.of(session).open(authority.key_pem)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(models.ClusterCA).values(key_pem=clear))
    engine.dispose()
    assert _stored(db_url) == [clear]
    _sign(api, "c1")  # a clear row still opens until then
    restarted = make_api(state_dir=state)
    [stored] = _stored(db_url)
    assert keystore.Keystore(_keys(state), where="test").open(stored) == clear
    _no_clear_key_anywhere(db_url)
    assert _sign(restarted, "c1").issuer == before
    make_api(state_dir=state)  # idempotent: nothing left to seal
    assert _stored(db_url) == [stored]


def test_a_process_given_another_secret_key_refuses_to_start_naming_the_setting(
    api: Api, template: None, db_url: str
) -> None:
    _create(api, "c1")
    engine = make_engine(db_url)
    other = keystore.Keystore(
        [keystore.generate_key()], where="setting secret_key (COVE_SECRET_KEY)"
    )
    try:
        with pytest.raises(keystore.SecretKeyError) as caught:
            keys.prepare(make_session_factory(engine, other))  # what create_app does first
    finally:
        engine.dispose()
    assert "COVE_SECRET_KEY" in str(caught.value) and "same secret key" in str(caught.value)
    assert all(v.startswith("fernet:") for v in _stored(db_url))  # nothing was re-sealed


def test_a_key_this_process_cannot_open_is_a_clear_error_not_a_500_mystery(
    make_api: MakeApi,
    api: Api,
    template: None,
    db_url: str,
    state: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _create(api, "c1")
    _create(api, "c2")
    elsewhere = keystore.Keystore([keystore.generate_key()], where="test")
    with transaction(api.runner.factory) as session:
        c2 = session.scalar(select(models.Cluster).where(models.Cluster.name == "c2"))
        assert c2 is not None
        authority = session.scalar(
            select(models.ClusterCA).where(models.ClusterCA.cluster_id == c2.id)
        )
        assert authority is not None
        clear = keystore.of(session).open(authority.key_pem)
        authority.key_pem = elsewhere.seal(clear)
    with caplog.at_level(logging.ERROR):
        restarted = make_api(state_dir=state)
    assert "1 private key(s)" in _logged(caplog)
    _sign(restarted, "c1")
    csr, _ = _csr()
    response = restarted.post("/v1/certificates", json={"cluster_uuid": "c2", "csr": csr})
    assert response.status_code == 500
    detail = error_detail(response)
    assert "cluster c2's CA key" in detail and "COVE_SECRET_KEY" in detail
    assert "Internal server error" not in detail and "PRIVATE" not in detail


def _cove(args: list[str], db_url: str, state: Path, **env: str) -> Any:
    result = CliRunner().invoke(
        cli, args, env={"COVE_DB": db_url, "COVE_STATE_DIR": str(state), **env}
    )
    return result


def test_rotate_reencrypts_every_key_so_the_new_key_alone_opens_them(
    api: Api, template: None, db_url: str, state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _create(api, "c1")
    _create(api, "c2")
    assert api.patch("/v1/certificates/c1").status_code == 202
    api.settle()
    (old,) = _keys(state)
    before = _stored(db_url)
    assert len(before) == 3
    with caplog.at_level(logging.DEBUG):
        rotated = _cove(["keys", "rotate"], db_url, state)
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 3 private key(s)" in rotated.output
    new, kept = _keys(state)
    assert kept == old and new != old
    assert keystore.key_id(new) in rotated.output
    after = _stored(db_url)
    assert all(keystore.sealed_with(v) == keystore.key_id(new) for v in after)
    only_new = keystore.Keystore([new], where="test")
    only_old = keystore.Keystore([old], where="test")
    for value, previous in zip(after, before, strict=True):
        assert only_new.open(value) == only_old.open(previous)
        with pytest.raises(keystore.SecretKeyError):
            only_old.open(value)
    # The running API re-reads the key file: signing goes on.
    _sign(api, "c1")
    _sign(api, "c2")
    # Finishing: older keys leave the file; the new one alone still opens everything.
    dropped = _cove(["keys", "reencrypt", "--drop-old"], db_url, state)
    assert dropped.exit_code == 0, dropped.output
    assert "re-encrypted 0 private key(s)" in dropped.output
    assert _keys(state) == [new]
    _sign(api, "c2")
    status = _cove(["keys", "status"], db_url, state)
    assert status.exit_code == 0, status.output
    assert f"3 private key(s) sealed with {keystore.key_id(new)} (primary)" in status.output
    shown = "\n".join([rotated.output, dropped.output, status.output, _logged(caplog)])
    assert new not in shown and old not in shown and "PRIVATE KEY" not in shown
    _no_clear_key_anywhere(db_url)


def test_rotate_with_the_key_in_the_environment_is_done_by_the_operator(
    make_api: MakeApi, template: None, db_url: str, state: Path
) -> None:
    old, new = keystore.generate_key(), keystore.generate_key()
    api = make_api(state_dir=state, secret_key=old)
    _create(api, "c1")
    refused = _cove(["keys", "rotate"], db_url, state, COVE_SECRET_KEY=old)
    assert refused.exit_code == 1
    assert "COVE_SECRET_KEY" in refused.output and "cove keys reencrypt" in refused.output
    done = _cove(["keys", "reencrypt"], db_url, state, COVE_SECRET_KEY=f"{new},{old}")
    assert done.exit_code == 0, done.output
    assert "re-encrypted 1 private key(s)" in done.output
    [stored] = _stored(db_url)
    assert keystore.sealed_with(stored) == keystore.key_id(new)
    _sign(make_api(state_dir=state, secret_key=new), "c1")


def test_a_wrong_secret_key_is_a_message_naming_the_setting(
    api: Api, template: None, db_url: str, state: Path
) -> None:
    _create(api, "c1")
    result = _cove(["keys", "reencrypt"], db_url, state, COVE_SECRET_KEY=keystore.generate_key())
    assert result.exit_code == 1
    assert result.output.startswith("Error: None of the 1 private keys")
    assert "COVE_SECRET_KEY" in result.output and "Traceback" not in result.output
