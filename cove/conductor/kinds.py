"""Every kind of subject the conductor drives, with its reconciler: Magnum's clusters,
container clusters and nodes outside any cluster (the clustering service), deployments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from cove.conductor.clustering.hosted import HostedContainers
from cove.conductor.clustering.reconcilers import (
    ContainerClusterReconciler,
    ContainerNodeReconciler,
)
from cove.conductor.clusters import ClusterReconciler
from cove.conductor.deploy import DeploymentReconciler
from cove.conductor.reconcilers import Registry
from cove.db import models
from cove.drivers.registry import DriverRegistry


def every_reconciler(
    factory: sessionmaker[Session],
    drivers: DriverRegistry,
    *,
    after_success: Callable[[int], object] | None = None,
    clock: Callable[[], datetime] = models.utcnow,
) -> tuple[Registry, ContainerClusterReconciler]:
    """The registry, and the container cluster reconciler (whose actions the container
    health monitor shares)."""
    containers = ContainerClusterReconciler(factory, drivers, clock=clock)
    registry = Registry(
        [
            ClusterReconciler(
                factory,
                drivers,
                after_success=after_success,
                hosted=HostedContainers(factory, containers.actions),
            ),
            containers,
            ContainerNodeReconciler(factory, containers.actions),
            DeploymentReconciler(factory, drivers),
        ]
    )
    return registry, containers
