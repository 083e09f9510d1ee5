"""The operation runner: claims an operation, hands a frozen snapshot of its cluster to the
driver, and records the outcome (statuses, addresses, events) in one transaction. Retry,
backoff and deadlines are decided here; drivers only raise.

It must not hold a database transaction while a driver works: drivers may take minutes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from cove.conductor import leases, snapshot
from cove.db import models
from cove.db.session import transaction
from cove.domain.statuses import Operation, Status, failure_status, success_status
from cove.drivers.base import (
    ClusterReport,
    ClusterSpec,
    Driver,
    DriverKey,
    OperationInput,
    RetryLater,
    StepFailed,
)
from cove.drivers.registry import DriverRegistry, NoDriver
from cove.pki import ca as pki
from cove.services import operations

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


class Superseded(Exception):
    """The operation was cancelled (by a delete) or taken over while it ran."""


class Runner:
    def __init__(
        self,
        factory: sessionmaker[Session],
        registry: DriverRegistry,
        owner: str,
        *,
        lease_seconds: float = 30.0,
        clock: leases.Clock = models.utcnow,
        after_success: Callable[[int], object] | None = None,
    ) -> None:
        self.factory = factory
        self.registry = registry
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.clock = clock
        # Called with the cluster's id once a driver's operation on a cluster that still
        # exists has succeeded and been committed (the conductor checks its health at once).
        self.after_success = after_success

    # -- one operation -------------------------------------------------------------------

    def run_one(self) -> bool:
        """Claim and drive one operation. Returns False when nothing was claimable."""
        op_id = leases.claim(self.factory, self.owner, self.lease_seconds, self.clock)
        if op_id is None:
            return False
        stop = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(op_id, stop), daemon=True)
        heartbeat.start()
        try:
            self._drive(op_id)
        except Superseded:
            log.info("operation %s was superseded", op_id)
        finally:
            stop.set()
            heartbeat.join()
        return True

    def _heartbeat(self, op_id: int, stop: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            if not leases.renew(self.factory, op_id, self.owner, self.lease_seconds, self.clock):
                return

    def _drive(self, op_id: int) -> None:
        with transaction(self.factory, write=False) as session:
            op = session.get(models.Operation, op_id)
            if op is None:
                return
            cluster = self._cluster(session, op.cluster_id)
            cluster_id = cluster.id
            template = session.scalar(
                select(models.ClusterTemplate).where(
                    models.ClusterTemplate.uuid == cluster.cluster_template_id
                )
            )
            kind = Operation(op.kind)
            deadline = op.deadline
            key = DriverKey(template.server_type, template.cluster_distro or "", template.coe)
            driver_name = template.driver
        try:
            driver = self.registry.find(key, driver_name)
        except NoDriver as exc:
            self._without_driver(op_id, kind, key, exc)
            return
        if kind is Operation.ROTATE_CA:
            self._new_ca_generation(op_id)
        spec, params, progress = self._snapshot(op_id)
        event = self._event_writer(op_id)
        op_input = OperationInput(str(kind), spec, params, progress, deadline, event)
        try:
            report = self._call(driver, kind, op_input)
        except StepFailed as exc:
            self._finish(op_id, ok=False, reason=str(exc))
        except Exception as exc:  # temporary by contract: retry until the deadline
            delay = exc.delay if isinstance(exc, RetryLater) else None
            self._retry_or_fail(op_id, exc, delay)
        else:
            self._finish(op_id, ok=True, report=report)
            if self.after_success is not None and kind is not Operation.DELETE:
                self.after_success(cluster_id)

    @staticmethod
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
            if not hasattr(driver, "heal"):
                raise StepFailed(f"Driver {driver.name} cannot replace failed nodes.")
            return driver.heal(op)  # type: ignore[no-any-return]
        return driver.update_cluster(op)

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _cluster(session: Session, cluster_id: int) -> models.Cluster:
        cluster = session.scalar(
            select(models.Cluster)
            .where(models.Cluster.id == cluster_id)
            .options(selectinload(models.Cluster.nodegroups))
        )
        assert cluster is not None  # operations cascade with their cluster
        return cluster

    def _snapshot(self, op_id: int) -> tuple[ClusterSpec, dict[str, Any], dict[str, Any]]:
        with transaction(self.factory, write=False) as session:
            op = session.get(models.Operation, op_id)
            assert op is not None
            cluster = self._cluster(session, op.cluster_id)
            spec = snapshot.cluster_spec(session, cluster, op.params.get("cluster_template"))
            return spec, dict(op.params), dict(op.progress)

    # -- writing ---------------------------------------------------------------------------

    def _event_writer(self, op_id: int) -> Any:
        def write(message: str) -> None:
            with transaction(self.factory) as session:
                op = self._owned(session, op_id)
                cluster = session.get(models.Cluster, op.cluster_id)
                assert cluster is not None  # operations cascade with their cluster
                operations.record_event(session, cluster, message, operation=op)

        return write

    def _owned(self, session: Session, op_id: int) -> models.Operation:
        op = session.get(models.Operation, op_id)
        if op is None or op.state != "running" or op.lease_owner != self.owner:
            raise Superseded()
        return op

    def _new_ca_generation(self, op_id: int) -> None:
        """Store the new CA before any driver uses it, once per operation (resumable)."""
        with transaction(self.factory) as session:
            op = self._owned(session, op_id)
            if "new-ca" in op.progress:
                return
            cluster = session.get(models.Cluster, op.cluster_id)
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
                    key_pem=authority.key_pem,
                )
            )
            op.progress = {**op.progress, "new-ca": {"state": "done", "generation": generation}}

    def _without_driver(self, op_id: int, kind: Operation, key: DriverKey, exc: NoDriver) -> None:
        if kind is Operation.DELETE:
            # Nothing can have been made for a cluster no driver ever served.
            self._finish(op_id, ok=True, report=None)
            return
        self._finish(
            op_id,
            ok=False,
            reason=f"No driver for cluster type {key} (server_type, os_distro, coe): {exc}",
        )

    def _retry_or_fail(self, op_id: int, exc: Exception, delay: float | None) -> None:
        reason = str(exc) or exc.__class__.__name__
        with transaction(self.factory) as session:
            op = self._owned(session, op_id)
            now = self.clock()
            if op.deadline is not None and now >= op.deadline:
                deadline_reason = f"Timed out at the create_timeout deadline; last error: {reason}"
                session.rollback()
            else:
                wait = delay if delay is not None else min(MAX_BACKOFF, 2.0 ** min(op.attempts, 5))
                op.state = "pending"
                op.lease_owner = None
                op.lease_expires_at = now + timedelta(seconds=wait)
                op.error = reason
                operations.record_event(
                    session,
                    self._cluster(session, op.cluster_id),
                    f"Retrying in {wait:.0f}s: {reason}",
                    level="warning",
                    operation=op,
                )
                log.warning("operation %s failed (%s); retrying in %.1fs", op_id, reason, wait)
                return
        self._finish(op_id, ok=False, reason=deadline_reason)

    def _finish(
        self,
        op_id: int,
        *,
        ok: bool,
        report: ClusterReport | None = None,
        reason: str | None = None,
    ) -> None:
        with transaction(self.factory) as session:
            op = self._owned(session, op_id)
            kind = Operation(op.kind)
            cluster = self._cluster(session, op.cluster_id)
            op.state = "succeeded" if ok else "failed"
            op.error = reason
            op.finished_at = self.clock()
            op.lease_owner = None
            if kind is Operation.DELETE and ok:
                session.delete(cluster)  # Magnum removes the row; GET then answers 404
                operations.announce(session, cluster)
                return
            if ok:
                _apply_success(session, cluster, kind, op.params, report)
                operations.record_event(session, cluster, f"{kind} complete.", operation=op)
            else:
                _apply_failure(cluster, kind, op.params, reason or "failed")
                operations.record_event(
                    session, cluster, f"{kind} failed: {reason}", level="error", operation=op
                )


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
                if ng_report.node_count is not None:
                    by_uuid[uuid].node_count = ng_report.node_count
    operations.set_status(cluster, status, _success_reason(kind))


def _success_reason(kind: Operation) -> str:
    return f"{kind} completed successfully"


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
