"""The orphan sweep: what a superseded operation made after a delete's own sweep is removed,
and only for clusters this database deleted (another installation may share the engine)."""

from __future__ import annotations

from typing import Any

from cove.conductor import sweeper
from cove.db import models
from cove.drivers.swarm_mode import SwarmModeDriver
from cove.providers.base import LABEL_CLUSTER
from cove.providers.memory import MemoryProvider
from tests.conftest import Api, template_body

OTHER = "11111111-2222-4333-8444-555555555555"  # a cluster of another installation


def test_leftovers_of_a_deleted_cluster_are_swept_and_nothing_else(
    make_api: Any, catalog: dict[str, Any]
) -> None:
    provider = MemoryProvider()
    api: Api = make_api(drivers=[SwarmModeDriver(provider)])
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    created = api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert created.status_code == 202, created.text
    uuid = created.json()["uuid"]
    api.settle()
    live = api.post("/v1/clusters", json={"name": "c2", "cluster_template_id": "swarm-tpl"})
    api.settle()
    assert api.delete(f"/v1/clusters/{uuid}").status_code == 204
    api.settle()
    assert api.get(f"/v1/clusters/{uuid}").status_code == 404
    # What a create superseded by the delete made after the delete's own label sweep:
    provider.add_container(f"cove-{uuid[:8]}-worker-7", labels={LABEL_CLUSTER: uuid})
    provider.add_network(f"cove-{uuid[:8]}-net", labels={LABEL_CLUSTER: uuid})
    provider.add_container("theirs", labels={LABEL_CLUSTER: OTHER})
    provider.add_container("mine-alive", labels={LABEL_CLUSTER: live.json()["uuid"]})

    swept = sweeper.sweep(api.runner.factory, api.drivers)

    assert swept == [uuid]
    assert provider.cluster_uuids() == {OTHER, live.json()["uuid"]}
    assert sweeper.sweep(api.runner.factory, api.drivers) == []  # nothing left: idempotent


def test_a_deleted_cluster_leaves_a_tombstone_and_no_operations_or_events(
    api: Api, catalog: dict[str, Any]
) -> None:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    created = api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    uuid = created.json()["uuid"]
    api.settle()
    assert api.delete(f"/v1/clusters/{uuid}").status_code == 204
    api.settle()
    with api.runner.factory() as session:
        assert [t.uuid for t in session.query(models.Tombstone)] == [uuid]
        assert session.query(models.Operation).count() == 0
        assert session.query(models.Event).count() == 0
