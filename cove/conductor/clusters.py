"""The cluster reconciler: Magnum's clusters and node groups. It picks the driver of the
cluster's (server_type, os_distro, coe), hands it a frozen snapshot, and writes back what
Magnum's users see: statuses, addresses, versions. The Magnum statuses are its business only.

Desired state (a node group's ``node_count``) is never overwritten by what a driver
observed; only a failed resize restores the previous count, as Magnum does."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from cove.conductor import snapshot
from cove.conductor.reconcilers import OperationRun
from cove.db import models
from cove.db.session import transaction
from cove.domain.statuses import Operation, Status, failure_status, success_status
from cove.drivers.base import ClusterReport, Driver, DriverKey, OperationInput, StepFailed
from cove.drivers.registry import DriverRegistry, NoDriver
from cove.pki import ca as pki
from cove.pki import keystore
from cove.services import operations

log = logging.getLogger(__name__)


class Hosted(Protocol):
    """What other services run on a cluster's nodes (container clusters)."""

    def evacuate(self, cluster_uuid: str, nodes: Sequence[str]) -> None:
        """Move it off ``nodes`` before they are removed."""
        ...

    def recheck(self, cluster_id: int) -> None:
        """After nodes were replaced or removed: look again, recover what was lost."""
        ...


class NothingHosted:
    def evacuate(self, cluster_uuid: str, nodes: Sequence[str]) -> None:
        return None

    def recheck(self, cluster_id: int) -> None:
        return None


class ClusterReconciler:
    subject_kind = models.Cluster.SUBJECT_KIND

    def __init__(
        self,
        factory: sessionmaker[Session],
        registry: DriverRegistry,
        *,
        after_success: Callable[[int], object] | None = None,
        hosted: Hosted | None = None,
    ) -> None:
        self.factory = factory
        self.registry = registry
        # What runs on the cluster's nodes for other services (container clusters).
        self.hosted = hosted or NothingHosted()
        # Called with the cluster's id once an operation other than delete has succeeded
        # and been committed (the conductor checks its health at once).
        self.after_success = after_success

    def subject(self, session: Session, subject_id: int) -> models.Cluster | None:
        return session.scalar(
            select(models.Cluster)
            .where(models.Cluster.id == subject_id)
            .options(selectinload(models.Cluster.nodegroups))
        )

    # -- the work ----------------------------------------------------------------------------

    def run(self, op: OperationRun) -> ClusterReport | None:
        kind = Operation(op.kind)
        key, driver_name = self._driver_key(op.subject_id)
        try:
            driver = self.registry.find(key, driver_name)
        except NoDriver as exc:
            if kind is Operation.DELETE:
                return None  # nothing can have been made for a cluster no driver served
            raise StepFailed(
                f"No driver for cluster type {key} (server_type, os_distro, coe): {exc}"
            ) from None
        if kind is Operation.ROTATE_CA:
            op.steps.run("new-ca", lambda: self._new_ca_generation(op.subject_id))
        spec = self._snapshot(op.subject_id, op.params.get("cluster_template"))
        driver_op = OperationInput(
            str(kind),
            spec,
            op.params,
            op.steps,
            op.deadline,
            op.event,
            evacuate=lambda nodes: self.hosted.evacuate(spec.uuid, nodes),
        )
        return _call(driver, kind, driver_op)

    def _driver_key(self, cluster_id: int) -> tuple[DriverKey, str | None]:
        with transaction(self.factory, write=False) as session:
            cluster = session.get(models.Cluster, cluster_id)
            assert cluster is not None  # the runner checked
            template = session.scalar(
                select(models.ClusterTemplate).where(
                    models.ClusterTemplate.uuid == cluster.cluster_template_id
                )
            )
            assert template is not None  # templates in use cannot be deleted
            key = DriverKey(template.server_type, template.cluster_distro or "", template.coe)
            return key, template.driver

    def _snapshot(self, cluster_id: int, target_template: str | None) -> Any:
        with transaction(self.factory, write=False) as session:
            cluster = self.subject(session, cluster_id)
            assert cluster is not None
            return snapshot.cluster_spec(session, cluster, target_template)

    def _new_ca_generation(self, cluster_id: int) -> dict[str, Any]:
        """Store the new CA before any driver uses it (a step: once per operation)."""
        with transaction(self.factory) as session:
            cluster = session.get(models.Cluster, cluster_id)
            assert cluster is not None
            latest = session.scalar(
                select(models.ClusterCA.generation)
                .where(models.ClusterCA.cluster_id == cluster.id)
                .order_by(models.ClusterCA.generation.desc())
                .limit(1)
            )
            authority = pki.create_ca(cluster.name)
            generation = (latest or 0) + 1
            session.add(
                models.ClusterCA(
                    cluster_id=cluster.id,
                    generation=generation,
                    cert_pem=authority.cert_pem,
                    key_pem=keystore.of(session).seal(authority.key_pem),
                )
            )
            return {"generation": generation}

    # -- writing back --------------------------------------------------------------------------

    def succeeded(self, session: Session, op: models.Operation, subject: Any, outcome: Any) -> None:
        cluster: models.Cluster = subject
        kind = Operation(op.kind)
        if kind is Operation.DELETE:
            operations.forget(session, cluster)
            session.delete(cluster)  # Magnum removes the row; GET then answers 404
            operations.announce(session, cluster)
            return
        _apply_success(session, cluster, kind, op.params, outcome)
        operations.record_event(session, cluster, f"{kind} complete.", operation=op)

    def completed(self, subject_id: int, kind: str) -> None:
        """After the success of ``kind`` was committed."""
        if kind == Operation.DELETE:
            return
        if self.after_success is not None:
            self.after_success(subject_id)
        if kind != Operation.CREATE:  # nodes may have been replaced or removed
            self.hosted.recheck(subject_id)

    def failed(self, session: Session, op: models.Operation, subject: Any, reason: str) -> None:
        cluster: models.Cluster = subject
        kind = Operation(op.kind)
        _apply_failure(cluster, kind, op.params, reason)
        operations.record_event(
            session, cluster, f"{kind} failed: {reason}", level="error", operation=op
        )


def _call(driver: Driver, kind: Operation, op: OperationInput) -> ClusterReport | None:
    if kind is Operation.CREATE:
        return driver.create_cluster(op)
    if kind is Operation.DELETE:
        driver.delete_cluster(op)
        return None
    if kind is Operation.UPGRADE:
        return driver.upgrade_cluster(op)
    if kind is Operation.ROTATE_CA:
        driver.rotate_ca(op)
        return None
    if kind is Operation.HEAL:
        heal = getattr(driver, "heal", None)
        if heal is None:
            raise StepFailed(f"Driver {driver.name} cannot replace failed nodes.")
        healed: ClusterReport = heal(op)
        return healed
    return driver.update_cluster(op)


def _groups_of(cluster: models.Cluster, params: dict[str, Any]) -> list[models.NodeGroup]:
    wanted = params.get("nodegroups") or ([params["nodegroup"]] if "nodegroup" in params else None)
    if wanted is None:
        return list(cluster.nodegroups)
    return [ng for ng in cluster.nodegroups if ng.uuid in wanted]


def _apply_success(
    session: Session,
    cluster: models.Cluster,
    kind: Operation,
    params: dict[str, Any],
    report: ClusterReport | None,
) -> None:
    status = success_status(kind)
    if kind is Operation.DELETE_NODEGROUP:
        for ng in _groups_of(cluster, params):
            cluster.nodegroups.remove(ng)
            session.delete(ng)
    if kind is Operation.UPGRADE:
        cluster.cluster_template_id = params["cluster_template"]
        new_template = session.scalar(
            select(models.ClusterTemplate).where(
                models.ClusterTemplate.uuid == params["cluster_template"]
            )
        )
        if new_template is not None:
            for ng in _groups_of(cluster, params):
                ng.image_id = new_template.image_id
    touched = list(cluster.nodegroups) if kind is Operation.CREATE else _groups_of(cluster, params)
    for ng in touched:
        ng.status = str(
            status if kind is not Operation.CREATE_NODEGROUP else Status.CREATE_COMPLETE
        )
        ng.status_reason = None
    if report is not None:
        cluster.api_address = report.api_address or cluster.api_address
        cluster.coe_version = report.coe_version or cluster.coe_version
        cluster.container_version = report.container_version or cluster.container_version
        by_uuid = {ng.uuid: ng for ng in cluster.nodegroups}
        for uuid, ng_report in report.nodegroups.items():
            if uuid in by_uuid:
                by_uuid[uuid].node_addresses = list(ng_report.node_addresses)
    operations.set_status(cluster, status, f"{kind} completed successfully")


def _apply_failure(
    cluster: models.Cluster, kind: Operation, params: dict[str, Any], reason: str
) -> None:
    status = failure_status(kind)
    groups = list(cluster.nodegroups) if kind is Operation.CREATE else _groups_of(cluster, params)
    for ng in groups:
        ng.status = str(status if kind is not Operation.CREATE_NODEGROUP else Status.CREATE_FAILED)
        ng.status_reason = reason
        if "previous_count" in params and ng.uuid == params.get("nodegroup"):
            ng.node_count = params["previous_count"]  # Magnum restores the count on failure
    operations.set_status(cluster, status, reason)
