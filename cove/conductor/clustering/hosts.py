"""The engines a profile places containers on: the cove cluster its ``host_cluster`` (or
``host_node``) names, through the driver's ``container_host`` capability. Hosts are kept
per cluster and CA generation, so load samples (CPU is a difference between two; recent
ones kept in ``loads``) and TLS clients live across actions."""

from __future__ import annotations

import threading

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from cove.clustering.containers import HostRef
from cove.conductor import snapshot
from cove.conductor.clustering.loads import HostLoads
from cove.db import models
from cove.db.session import transaction
from cove.domain.statuses import Status
from cove.drivers.base import DriverKey, StepFailed
from cove.drivers.containerhost import ContainerHost
from cove.drivers.registry import DriverRegistry, NoDriver

_GONE = {str(Status.DELETE_IN_PROGRESS), str(Status.DELETE_COMPLETE)}


class Hosts:
    def __init__(self, factory: sessionmaker[Session], drivers: DriverRegistry) -> None:
        self.factory = factory
        self.drivers = drivers
        self._hosts: dict[tuple[str, str], ContainerHost] = {}
        self._lock = threading.Lock()
        self.loads = HostLoads()

    def resolve(self, project_id: str, ref: HostRef) -> tuple[str, ContainerHost]:
        """The host cluster's uuid and its engines."""
        with transaction(self.factory, write=False) as session:
            cluster = _find(session, project_id, ref)
            if cluster is None:
                raise StepFailed(f"The host cluster '{ref.cluster or ref.node}' was not found.")
            if cluster.status in _GONE:
                raise StepFailed(f"The host cluster '{cluster.name}' is being deleted.")
            spec = snapshot.cluster_spec(session, cluster)
            template = spec.template
        key = DriverKey(spec.server_type, spec.os_distro, spec.coe)
        try:
            driver = self.drivers.find(key, template.get("driver"))
        except NoDriver as exc:
            raise StepFailed(f"No driver for the host cluster '{cluster.name}': {exc}") from None
        make = getattr(driver, "container_host", None)
        if make is None:
            raise StepFailed(
                f"The host cluster '{spec.name}' ({spec.coe}) cannot run containers for "
                "the clustering service."
            )
        cache_key = (spec.uuid, spec.ca_cert_pem)
        with self._lock:
            host = self._hosts.get(cache_key)
            if host is None:
                host = make(spec)
                self._hosts = {k: v for k, v in self._hosts.items() if k[0] != spec.uuid}
                self._hosts[cache_key] = host
        return spec.uuid, host


def _find(session: Session, project_id: str, ref: HostRef) -> models.Cluster | None:
    if ref.cluster:
        found = session.scalars(
            select(models.Cluster).where(
                or_(
                    models.Cluster.uuid == ref.cluster,
                    (models.Cluster.name == ref.cluster)
                    & (models.Cluster.project_id == project_id),
                )
            )
        ).all()
        return found[0] if len(found) == 1 else None
    if ref.node:
        # A node's name is cove-<first 8 of the cluster's uuid>-<group>-<index>.
        prefix = ref.node.split("-")[1] if ref.node.count("-") >= 3 else ""
        found = session.scalars(
            select(models.Cluster).where(
                models.Cluster.uuid.startswith(prefix, autoescape=True),
                models.Cluster.project_id == project_id,
            )
        ).all()
        return found[0] if prefix and len(found) == 1 else None
    return None
