"""Keys at rest as a user of ``cove serve`` sees them: a first start makes the state directory
0700, the SQLite database (and its -wal and -shm) and the secret key file 0600; tightens ones
an earlier version left open; `cove cluster config` works on sealed keys; and a process given
the wrong secret key stops with a message naming the setting, not a traceback."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from cove.db import models
from cove.db.session import make_engine
from cove.pki import keystore
from tests.cli.conftest import DRIVERS, Cove, _clean_env, unique
from tests.support.keystone import free_port
from tests.support.server import COVE, ROOT, serve


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = _clean_env()
    environment.update(
        COVE_EXTRA_DRIVERS=DRIVERS,
        COVE_STATE_DIR=str(tmp_path / "state"),
        COVE_HEALTH_INTERVAL="3600",
        HOME=str(tmp_path / "home"),
        NO_COLOR="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")])),
    )
    return environment


def _serve(env: dict[str, str], tmp_path: Path) -> Iterator[Cove]:
    """``cove serve`` on its default database (in the state directory); afterwards, its
    output holds no private key."""
    more = {k: v for k, v in env.items() if k.startswith("COVE_")}
    with serve(tmp_path, db=None, drivers=DRIVERS, env=more) as url:
        yield Cove(url, {**env, "COVE_URL": url})
    text = "".join(p.read_text() for p in tmp_path.glob("serve.*.log"))
    assert "PRIVATE KEY" not in text
    for key in keystore.read_key_file(Path(env["COVE_STATE_DIR"]) / "secret.key"):
        assert key not in text


def test_serve_keeps_its_files_private_and_its_keys_sealed(
    env: dict[str, str], tmp_path: Path
) -> None:
    state = Path(env["COVE_STATE_DIR"])
    old_umask = os.umask(0o022)  # what made 0755/0644 files before
    try:
        for cove in _serve(env, tmp_path):
            cove("image create instant-image --os-distro instant")
            cove(
                "template create tpl --image instant-image --coe swarm-mode "
                "--external-network public --flavor m1.small"
            )
            name = unique("c")
            cove(f"cluster create {name} --template tpl")
            config = cove(f"cluster config {name} --dir {tmp_path / 'tls'}")
            assert "DOCKER_CERT_PATH" in config.stdout
            modes = {p.name: _mode(p) for p in state.iterdir()}
            assert _mode(state) == 0o700
            assert {
                name: mode
                for name, mode in modes.items()
                if name in {"cove.db", "cove.db-wal", "cove.db-shm", "secret.key"}
            } == {"cove.db": 0o600, "cove.db-wal": 0o600, "cove.db-shm": 0o600, "secret.key": 0o600}
    finally:
        os.umask(old_umask)
    engine = make_engine(f"sqlite:///{state / 'cove.db'}")
    with engine.connect() as conn:
        [stored] = conn.scalars(select(models.ClusterCA.key_pem))
    engine.dispose()
    assert stored.startswith("fernet:") and "PRIVATE KEY" not in stored
    assert "PRIVATE KEY" not in (state / "cove.db").read_bytes().decode("latin-1")


def test_files_an_earlier_version_left_open_are_tightened_at_start(
    env: dict[str, str], tmp_path: Path
) -> None:
    state = Path(env["COVE_STATE_DIR"])
    for _cove in _serve(env, tmp_path):
        pass
    state.chmod(0o755)
    for name in ("cove.db", "secret.key"):
        (state / name).chmod(0o644)
    result = subprocess.run(
        [str(COVE), "keys", "status"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert _mode(state) == 0o700
    assert _mode(state / "cove.db") == 0o600 and _mode(state / "secret.key") == 0o600
    assert f"directory {state} was open to other users (mode 0755): now 0700" in result.stderr
    assert "primary key:" in result.stdout


def test_a_wrong_secret_key_stops_the_api_with_a_message_naming_the_setting(
    env: dict[str, str], tmp_path: Path
) -> None:
    for cove in _serve(env, tmp_path):
        cove("image create instant-image --os-distro instant")
        cove(
            "template create tpl --image instant-image --coe swarm-mode "
            "--external-network public --flavor m1.small"
        )
        cove(f"cluster create {unique('c')} --template tpl")
    other = keystore.generate_key()
    result = subprocess.run(
        [str(COVE), "api", "--port", str(free_port())],
        env={**env, "COVE_SECRET_KEY": other},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Error: None of the 1 private keys in the database can be decrypted" in result.stderr
    assert "COVE_SECRET_KEY" in result.stderr and other not in result.stderr
