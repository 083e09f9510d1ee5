"""The reconciler of deployments. A deploy or an update makes everything at once (the
store, every service and task: their containers gate themselves, ``cove.deploy.gating``),
then follows the orchestrator until the deployment has converged: each look records
per-element progress and, when not done, pauses the operation a second (the worker is
free meanwhile) rather than sleeping. A task that used up its retries fails the operation
with its exit code and last log lines. An undeploy removes exactly what carries the
deployment's label, then the row."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cove.conductor import snapshot
from cove.conductor.reconcilers import OperationRun
from cove.db import models
from cove.db.deploy import Deployment
from cove.db.session import transaction
from cove.deploy.specs import Identity, Plan, plan
from cove.domain.deploy.definition import Definition, load
from cove.domain.statuses import Status
from cove.drivers.apphost import ELEMENT_LABEL, AppHost, ServiceState
from cove.drivers.base import DriverKey, StepFailed
from cove.drivers.fleet import parallel
from cove.drivers.registry import DriverRegistry, NoDriver
from cove.failures import Pause
from cove.images.apps import refs as images
from cove.services import deployments, operations

log = logging.getLogger(__name__)
LOOK_EVERY_S = 1.0
LOG_LINES = 5


class DeploymentReconciler:
    subject_kind = Deployment.SUBJECT_KIND

    def __init__(self, factory: sessionmaker[Session], drivers: DriverRegistry) -> None:
        self.factory = factory
        self.drivers = drivers

    def subject(self, session: Session, subject_id: int) -> Deployment | None:
        return session.get(Deployment, subject_id)

    def run(self, op: OperationRun) -> dict[str, Any]:
        with transaction(self.factory, write=False) as session:
            deployment = session.get(Deployment, op.subject_id)
            if deployment is None:
                raise StepFailed("The deployment is gone.")
            who = Identity(deployment.uuid, deployment.project_id)
            definition = load(deployment.definition)
            values = deployments.values_of(session, deployment)
            host = self._host(session, deployment.cluster_id)
        if op.kind == deployments.UNDEPLOY:
            host.remove(who.labels)
            return {}
        made = _plan(definition, values, who)
        op.steps.run("make", lambda: self._make(host, made, who))
        states = {s.labels.get(ELEMENT_LABEL, ""): s for s in host.services(who.labels)}
        progress = _progress(made, states)
        self._record(op.subject_id, progress)
        failed = [name for name, p in progress.items() if p["state"] == "failed"]
        if failed:
            spec = made.tasks.get(failed[0])
            lines = host.logs(spec.name, LOG_LINES) if spec is not None else []
            tail = f"; last lines: {' | '.join(lines)}" if lines else ""
            raise StepFailed(f"{failed[0]}: {progress[failed[0]]['detail']}{tail}")
        waiting = [name for name, p in progress.items() if p["state"] != "ready"]
        if waiting:
            raise Pause(f"Waiting for {', '.join(sorted(waiting))}.", delay=LOOK_EVERY_S)
        return progress

    def _make(self, host: AppHost, made: Plan, who: Identity) -> dict[str, Any]:
        host.ensure_network(who.network, who.labels)
        host.ensure_images(made.images)
        parallel(host.ensure_service, made.all)  # all at once: the containers gate themselves
        wanted = {s.labels[ELEMENT_LABEL] for s in made.all}
        gone = [
            s.labels.get(ELEMENT_LABEL, "")
            for s in host.services(who.labels)
            if s.labels.get(ELEMENT_LABEL) not in wanted
        ]
        for element in gone:  # an update dropped it from the definition
            host.remove({**who.labels, ELEMENT_LABEL: element})
        return {"services": sorted(made.services), "tasks": sorted(made.tasks), "removed": gone}

    def _host(self, session: Session, cluster_id: int) -> AppHost:
        cluster = session.get(models.Cluster, cluster_id)
        if cluster is None:
            raise StepFailed("The deployment's cluster is gone.")
        spec = snapshot.cluster_spec(session, cluster)
        try:
            driver = self.drivers.find(
                DriverKey(spec.server_type, spec.os_distro, spec.coe), spec.template.get("driver")
            )
        except NoDriver as exc:
            raise StepFailed(f"No driver for cluster {cluster.name}: {exc}") from None
        make = getattr(driver, "app_host", None)
        if make is None:
            raise StepFailed(f"Cluster {cluster.name} ({spec.coe}) cannot run deployments.")
        host: AppHost = make(spec)
        return host

    def _record(self, deployment_id: int, progress: dict[str, Any]) -> None:
        with transaction(self.factory) as session:
            deployment = session.get(Deployment, deployment_id)
            if deployment is not None and deployment.progress != progress:
                deployment.progress = progress

    def succeeded(self, session: Session, op: models.Operation, subject: Any, outcome: Any) -> None:
        deployment: Deployment = subject
        if op.kind == deployments.UNDEPLOY:
            operations.record_event(session, deployment, "Undeployed.", operation=op)
            operations.forget(session, deployment)
            session.delete(deployment)
            return
        done = Status.CREATE_COMPLETE if op.kind == deployments.DEPLOY else Status.UPDATE_COMPLETE
        deployment.status, deployment.status_reason = str(done), None
        deployment.progress = dict(outcome or {})
        operations.record_event(session, deployment, f"{op.kind} complete.", operation=op)

    def failed(self, session: Session, op: models.Operation, subject: Any, reason: str) -> None:
        deployment: Deployment = subject
        status = {
            deployments.DEPLOY: Status.CREATE_FAILED,
            deployments.UPDATE: Status.UPDATE_FAILED,
        }.get(op.kind, Status.DELETE_FAILED)
        deployment.status, deployment.status_reason = str(status), reason
        operations.record_event(
            session, deployment, f"{op.kind} failed: {reason}", level="error", operation=op
        )


def _plan(definition: Definition, values: Mapping[str, Any], who: Identity) -> Plan:
    secret = [n for n, v in definition.variables.items() if v.secret]
    store = images.resolve("cove/app-etcd")
    return plan(definition, values, secret, who, store, image_of=images.resolve)


def _progress(made: Plan, states: Mapping[str, ServiceState]) -> dict[str, Any]:
    """Per element: ``ready`` / ``starting`` / ``failed`` with what the orchestrator says."""
    out: dict[str, Any] = {}
    for name, spec in [("cove-store", made.store), *made.services.items()]:
        state = states.get(spec.labels[ELEMENT_LABEL])
        if state is None:
            out[name] = {"state": "starting", "detail": "not made yet"}
            continue
        wanted = spec.replicas if spec.mode == "replicated" else max(state.wanted, 1)
        up = sum(
            1
            for i in state.instances
            if i.state == "running"
            and i.desired == "running"
            and (spec.health is None or i.healthy)
        )
        detail = f"{up}/{wanted} running" + (" and healthy" if spec.health else "")
        out[name] = {"state": "ready" if up >= wanted else "starting", "detail": detail}
    for name, spec in made.tasks.items():
        state = states.get(spec.labels[ELEMENT_LABEL])
        if state is None:
            out[name] = {"state": "starting", "detail": "not made yet"}
        elif state.completed:
            out[name] = {"state": "ready", "detail": "done"}
        else:
            failures = [i for i in state.instances if i.state in ("failed", "rejected")]
            attempts = (spec.restart_attempts or 0) + 1
            if len(failures) >= attempts:
                last = failures[-1]
                code = f" (exit {last.exit_code})" if last.exit_code is not None else ""
                out[name] = {
                    "state": "failed",
                    "detail": f"failed {len(failures)} time(s){code}: {last.message}",
                }
            else:
                out[name] = {"state": "starting", "detail": "waiting or running"}
    return out
