"""capabilities: the node mode is probed once per provider, with the image's entrypoint
replaced by ``true``, and the engine's refusal of --privileged selects the capability set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import docker.errors
import pytest
import requests

from cove.providers.base import ProviderError
from cove.providers.docker.capabilities import LABEL_PROBE, ModeDetector, NodeMode


def _refusal() -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = 500
    return docker.errors.APIError(
        "refused",
        response=response,
        explanation="OCI runtime create failed: unable to apply caps: operation not permitted",
    )


class FakeContainer:
    def __init__(self, owner: FakeContainers, name: str, created: str = "") -> None:
        self.owner, self.name = owner, name
        self.attrs = {"Created": created}

    def start(self) -> None:
        if self.owner.refuse_privileged:
            raise _refusal()

    def wait(self, timeout: float) -> dict[str, Any]:
        return {"StatusCode": 0}

    def remove(self, force: bool) -> None:
        self.owner.removed.append(self.name)


class FakeContainers:
    def __init__(self, refuse_privileged: bool) -> None:
        self.refuse_privileged = refuse_privileged
        self.created: list[dict[str, Any]] = []
        self.removed: list[str] = []
        self.left: list[FakeContainer] = []  # probes of earlier processes

    def list(self, all: bool, filters: dict[str, str]) -> list[FakeContainer]:
        assert all and filters == {"label": LABEL_PROBE}
        return self.left

    def create(self, image: str, **options: Any) -> FakeContainer:
        if image == "missing":
            raise docker.errors.ImageNotFound("no such image: missing")
        self.created.append({"image": image, **options})
        return FakeContainer(self, options["name"])


class FakeClient:
    def __init__(self, refuse_privileged: bool) -> None:
        self.containers = FakeContainers(refuse_privileged)


@pytest.mark.parametrize(("refuse", "privileged"), [(True, False), (False, True)])
def test_probe_decides_once_and_cleans_up(refuse: bool, privileged: bool) -> None:
    client = FakeClient(refuse_privileged=refuse)
    detector = ModeDetector()

    first = detector.detect(client, "cove/node:x", "c-1")  # type: ignore[arg-type]
    second = detector.detect(client, "cove/node:y", "c-2")  # type: ignore[arg-type]

    assert first is second and first.privileged is privileged
    (probe,) = client.containers.created
    assert probe["image"] == "cove/node:x"
    assert probe["entrypoint"] == ["true"] and probe["privileged"] is True
    assert probe["labels"] == {"cove.cluster": "c-1", LABEL_PROBE: "privileged"}
    assert client.containers.removed == [probe["name"]]
    if refuse:
        assert "unable to apply caps" in first.reason


def test_probe_for_no_cluster_removes_probes_killed_processes_left() -> None:
    """A conductor's warm-up probe has no cluster to carry; a probe a killed process left
    (created over a minute ago) goes with the next probe, one being made now stays."""
    client = FakeClient(refuse_privileged=False)
    client.containers.left = [
        FakeContainer(client.containers, "old", "2020-01-01T00:00:00.123456789Z"),
        FakeContainer(client.containers, "now", datetime.now(UTC).isoformat()),
    ]

    ModeDetector().detect(client, "cove/node:x", None)  # type: ignore[arg-type]

    (probe,) = client.containers.created
    assert probe["labels"] == {LABEL_PROBE: "privileged"}
    assert client.containers.removed == ["old", probe["name"]]


def test_failed_probe_is_not_cached() -> None:
    client = FakeClient(refuse_privileged=False)
    detector = ModeDetector()

    with pytest.raises(ProviderError):
        detector.detect(client, "missing", "c-1")  # type: ignore[arg-type]

    assert detector.mode is None
    assert detector.detect(client, "cove/node:x", "c-1").privileged  # type: ignore[arg-type]


def test_capability_mode_options() -> None:
    mode = NodeMode(privileged=False, reason="refused")

    options = mode.host_config_options(storage_gb=5)

    assert "privileged" not in options
    assert options["cap_add"] == ["ALL"] and options["cap_drop"] == ["SYS_RESOURCE"]
    assert options["security_opt"] == ["seccomp=unconfined", "apparmor=unconfined"]
    assert options["device_cgroup_rules"] == ["a *:* rwm"]
    assert options["binds"] == {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}}
    assert options["cgroupns"] == "host"
    assert options["tmpfs"] == {"/run": "", "/var/lib/docker": "exec,size=5g"}
    assert options["init"] is True
    # systempaths=unconfined, as the docker CLI sends it.
    assert mode.host_config_fields() == {"MaskedPaths": [], "ReadonlyPaths": []}


def test_privileged_mode_options() -> None:
    mode = NodeMode(privileged=True, reason="accepted")

    options = mode.host_config_options()

    assert options == {
        "privileged": True,
        "tmpfs": {"/run": "", "/var/lib/docker": "exec"},
        "init": True,
    }
    assert mode.host_config_fields() == {}
