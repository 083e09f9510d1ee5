"""``cove api --workers 2`` and ``cove conductor`` as processes on one SQLite database: work
an API worker records wakes the conductor at its commit, and what the conductor records wakes
the CLI's long poll in whichever worker holds it, as NOTIFY does on PostgreSQL. The
conductor's scan interval is ten minutes, so only those wake-ups can finish these commands
within their time limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.conftest import DRIVERS, Cove, _clean_env, unique
from tests.support.server import conductor, serve

SLOW_SCAN = {"COVE_SCAN_INTERVAL": "600", "COVE_HEALTH_INTERVAL": "3600"}


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cove]:
    workdir = tmp_path_factory.mktemp("split")
    db = f"sqlite:///{workdir / 'cove.db'}"
    with (
        serve(
            workdir, db=db, command="api", drivers=DRIVERS, env=SLOW_SCAN, args=("--workers", "2")
        ) as url,
        conductor(workdir, db, drivers=DRIVERS, env=SLOW_SCAN),
    ):
        env = _clean_env()
        env.update(COVE_URL=url, HOME=str(workdir / "home"), NO_COLOR="1")
        cove = Cove(url, env)
        cove("image create instant-image --os-distro instant")
        cove(
            "template create tpl --image instant-image --coe swarm-mode "
            "--external-network public --flavor m1.small"
        )
        yield cove


# Under the long poll's 30 s: a command that had to wait for it would time out.
QUICK = 20.0


def test_create_resize_rotate_and_delete_each_end_when_the_work_does(split: Cove) -> None:
    name = unique("c")
    created = split(f"cluster create {name} --template tpl -f json", timeout=QUICK).json()
    assert created["status"] == "CREATE_COMPLETE", created
    resized = split(f"cluster resize {name} 3 -f json", timeout=QUICK).json()
    assert (resized["status"], resized["node_count"]) == ("UPDATE_COMPLETE", 3), resized
    before = split(f"ca show {name}").stdout
    split(f"ca rotate {name}", timeout=QUICK)
    after = split(f"ca show {name}").stdout
    assert "BEGIN CERTIFICATE" in after and after != before, "the CA was not replaced"
    split(f"cluster delete {name}", timeout=QUICK)
    assert split(f"cluster show {name}", code=1).error_lines(), "the cluster is still there"
