"""DockerProvider.cluster_uuids() against a fake SDK client: what it asks, what it reads."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest
import requests.exceptions

from cove.providers.base import LABEL_CLUSTER, ProviderUnavailable
from cove.providers.docker import DockerProvider


class _Collection:
    """A containers, networks or volumes collection listing objects with these labels."""

    def __init__(self, *labels: dict[str, str] | None) -> None:
        self.items = [SimpleNamespace(attrs={"Labels": found}) for found in labels]
        self.calls: list[dict[str, Any]] = []

    def list(self, **kwargs: Any) -> list[SimpleNamespace]:
        self.calls.append(kwargs)
        return self.items


class _Unreachable:
    def list(self, **kwargs: Any) -> list[SimpleNamespace]:
        raise docker.errors.DockerException("no engine") from requests.exceptions.ConnectionError()


def test_uuids_from_containers_networks_and_volumes() -> None:
    containers = _Collection({LABEL_CLUSTER: "a", "cove.node": "n"}, {LABEL_CLUSTER: "b"})
    networks = _Collection({LABEL_CLUSTER: "b"}, {LABEL_CLUSTER: "c"})
    volumes = _Collection({LABEL_CLUSTER: "d"}, None, {LABEL_CLUSTER: ""})
    client = SimpleNamespace(containers=containers, networks=networks, volumes=volumes)

    found = DockerProvider(client=client).cluster_uuids()  # type: ignore[arg-type]

    assert found == {"a", "b", "c", "d"}
    selector = {"label": LABEL_CLUSTER}
    assert containers.calls == [{"all": True, "filters": selector, "sparse": True}]
    assert networks.calls == volumes.calls == [{"filters": selector}]


def test_unreachable_engine_is_temporary() -> None:
    client = SimpleNamespace(containers=_Unreachable(), networks=_Unreachable(), volumes=None)

    with pytest.raises(ProviderUnavailable):
        DockerProvider(client=client).cluster_uuids()  # type: ignore[arg-type]
