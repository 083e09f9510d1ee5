"""``cove deployment update`` and ``cove app upgrade`` against a fake of the update contract
(``tests/cli/fakeapi.py``: PATCH with definition, values and options merged,
package_version; 202 in UPDATE_IN_PROGRESS), played through the events long poll: exactly
what each command sends, what it shows while the update runs, and how a failed one ends
(the real server is used by tests/cli/test_deployments.py and test_app_catalog.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cove
from tests.cli.fakeapi import FakeDeployments, serve

DEFINITION = "name: ks\nservices:\n  keystone: {image: cove/app-keystone}\n"


@pytest.fixture
def fake() -> FakeDeployments:
    return FakeDeployments()


@pytest.fixture
def url(fake: FakeDeployments) -> Iterator[str]:
    with serve(fake) as base:
        yield base


def test_update_sends_what_changed_and_follows_only_the_update(
    cove: Cove, fake: FakeDeployments, url: str, tmp_path: Path
) -> None:
    (tmp_path / "ks.yaml").write_text(DEFINITION)
    (tmp_path / "pw").write_text("pw-never-shown\n")
    result = cove(
        f"deployment update c1 ks --file {tmp_path / 'ks.yaml'} --set replicas=2 "
        f"--secret admin_password=@{tmp_path / 'pw'}",
        env={"COVE_URL": url},
    )
    assert fake.patches == [
        {"definition": DEFINITION, "values": {"replicas": "2", "admin_password": "pw-never-shown"}}
    ]
    err = result.stderr
    assert "Deploy accepted." not in err  # only this update's events
    lines = [line.split(" ", 1)[1] for line in err.splitlines() if line[:2].isdigit()]
    assert lines == [
        "Update accepted.",
        "keystone: starting (0/2 running)",
        "keystone: ready (2/2 running)",
        "update complete.",
    ]
    assert "deployment ks UPDATE_COMPLETE (" in err
    assert "pw-never-shown" not in result.stdout + err
    assert result.fields()["status"] == "UPDATE_COMPLETE"


def test_app_upgrade_sends_the_version_and_typed_options(
    cove: Cove, fake: FakeDeployments, url: str
) -> None:
    body = cove(
        "app upgrade ks --cluster c1 --version 1.1.0 --set replicas=3 -f json",
        env={"COVE_URL": url},
    ).json()
    assert fake.patches == [{"options": {"replicas": 3}, "package_version": "1.1.0"}]
    assert (body["status"], body["package_version"]) == ("UPDATE_COMPLETE", "1.1.0")


def test_a_failed_update_exits_1_with_the_reason(
    cove: Cove, fake: FakeDeployments, url: str
) -> None:
    fake.outcome = "UPDATE_FAILED"
    result = cove("app upgrade ks --cluster c1 --version 1.1.0", env={"COVE_URL": url}, code=1)
    assert result.stdout == ""
    assert result.error_lines() == ["error: deployment ks UPDATE_FAILED: keystone: exit 1"]
    assert "warning: keystone: failing (1 container(s) ended (exit 1))" in result.stderr
    assert "  keystone  failing  exit 1" in result.stderr  # what is not ready, before the error


def test_no_wait_and_nothing_to_change(cove: Cove, fake: FakeDeployments, url: str) -> None:
    body = cove("deployment update c1 ks --set a=b --no-wait -f json", env={"COVE_URL": url}).json()
    assert body["status"] == "UPDATE_IN_PROGRESS"
    assert fake.patches == [{"values": {"a": "b"}}]
    nothing = cove("app upgrade ks --cluster c1", env={"COVE_URL": url}, code=2)
    assert "nothing to change: give --version, --options or --set" in nothing.stderr
    nothing = cove("deployment update c1 ks", env={"COVE_URL": url}, code=2)
    assert "nothing to change" in nothing.stderr
    assert len(fake.patches) == 1
