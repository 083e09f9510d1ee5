"""The reconciler of deployments. A deploy makes everything at once (the store, every
service and task: their containers gate themselves, ``cove.deploy.gating``),
then follows the orchestrator until the deployment has converged: each look records
per-element progress and, when not done, pauses the operation a second (the worker is
free meanwhile) rather than sleeping. A task that used up its retries fails the operation
with its exit code and last log lines. An update changes what differs in dependency order
(``rollout``). An undeploy removes exactly what carries the deployment's label, then the
row."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cove.conductor import rollout, snapshot
from cove.conductor.reconcilers import OperationRun
from cove.db import models
from cove.db.deploy import Deployment
from cove.db.session import transaction
from cove.deploy import gating
from cove.deploy.specs import Identity, Plan, plan
from cove.domain.deploy import progress as progress_events
from cove.domain.deploy.definition import Definition, load
from cove.domain.statuses import Status
from cove.drivers.apphost import ELEMENT_LABEL, AppHost, ServiceSpec, ServiceState
from cove.drivers.base import DriverKey, StepFailed
from cove.drivers.fleet import parallel
from cove.drivers.registry import DriverRegistry, NoDriver
from cove.failures import Pause
from cove.images.apps import refs as images
from cove.redact import redact
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
        hidden = [
            str(values[n]) for n, v in definition.variables.items() if v.secret and n in values
        ]

        def said(spec: ServiceSpec) -> list[str]:  # what its containers printed, never a secret
            return [_masked(line, hidden) for line in host.logs(spec.name, LOG_LINES)]

        if op.kind == deployments.UPDATE:
            return rollout.run(
                host,
                made,
                who,
                definition,
                op.steps,
                progress_of=lambda plan, states: _with_nodes(
                    _progress(plan, states, said), plan, states
                ),
                record=lambda progress: self._record(op, progress, hidden),
                event=op.event,
                secrets=hidden,
            )
        op.steps.run("make", lambda: self._make(host, made, who))
        states = {s.labels.get(ELEMENT_LABEL, ""): s for s in host.services(who.labels)}
        progress = _with_nodes(_progress(made, states, said), made, states)
        self._record(op, progress, hidden)
        failed = [name for name, p in progress.items() if p["state"] == "failed"]
        if failed:
            spec = made.tasks.get(failed[0])
            lines = said(spec) if spec is not None else []
            tail = f"; last lines: {' | '.join(lines)}" if lines else ""
            raise StepFailed(f"{failed[0]}: {progress[failed[0]]['detail']}{tail}")
        waiting = [name for name, p in progress.items() if p["state"] not in ("ready", "done")]
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

    def _record(self, op: OperationRun, progress: dict[str, Any], secrets: list[Any]) -> None:
        """Store a changed look, with an event saying what changed: it wakes whoever follows
        the deployment (the events long poll), so nobody polls the progress."""
        with transaction(self.factory) as session:
            deployment = session.get(Deployment, op.subject_id)
            if deployment is None or deployment.progress == progress:
                return
            before = deployment.progress or {}
            message = progress_events.event_message(before, progress, secrets)
            deployment.progress = progress
            if message:
                operations.record_event(
                    session,
                    deployment,
                    redact(message),
                    level=progress_events.event_level(before, progress),
                    operation=session.get(models.Operation, op.id),
                )

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


def _with_nodes(
    progress: dict[str, Any], made: Plan, states: Mapping[str, ServiceState]
) -> dict[str, Any]:
    """``nodes`` (where an instance runs) on each service that publishes a port: its ports
    are published in host mode, so these are the nodes it answers on (the endpoints)."""
    for name, spec in made.services.items():
        state = states.get(spec.labels[ELEMENT_LABEL])
        if name in progress and state is not None and any(p.published for p in spec.ports):
            running = {i.node for i in state.instances if i.state == "running" and i.node}
            progress[name] = {**progress[name], "nodes": sorted(running)}
    return progress


def _plan(definition: Definition, values: Mapping[str, Any], who: Identity) -> Plan:
    secret = [n for n, v in definition.variables.items() if v.secret]
    store = images.resolve("cove/app-etcd")
    return plan(definition, values, secret, who, store, image_of=images.resolve)


def _progress(
    made: Plan, states: Mapping[str, ServiceState], said: Callable[[ServiceSpec], list[str]]
) -> dict[str, Any]:
    """Per element, what a user follows: a service ``waiting`` (at its gates, on what) /
    ``starting`` / ``ready`` / ``failing`` (its containers die; their last lines); a task
    ``waiting`` / ``running`` / ``done`` / ``failed``. ``said(spec)`` is the last lines
    its containers wrote, asked only of elements not yet ready or done."""
    out: dict[str, Any] = {}
    for name, spec in [("cove-store", made.store), *made.services.items()]:
        state = states.get(spec.labels[ELEMENT_LABEL])
        out[name] = _service_progress(spec, state, said)
    for name, spec in made.tasks.items():
        state = states.get(spec.labels[ELEMENT_LABEL])
        out[name] = _task_progress(spec, state, said)
    return out


def _service_progress(
    spec: ServiceSpec, state: ServiceState | None, said: Callable[[ServiceSpec], list[str]]
) -> dict[str, str]:
    if state is None:
        return {"state": "starting", "detail": "not made yet"}
    wanted = spec.replicas if spec.mode == "replicated" else max(state.wanted, 1)
    up = sum(
        1
        for i in state.instances
        if i.state == "running" and i.desired == "running" and (spec.health is None or i.healthy)
    )
    detail = f"{up}/{wanted} running" + (" and healthy" if spec.health else "")
    gated = spec.env.get("COVE_REQUIRES", "[]") != "[]"
    if up >= wanted and (spec.health is not None or not gated):
        return {"state": "ready", "detail": detail}
    lines = said(spec)
    if up >= wanted:  # no health check tells: running is ready once its gate let it start
        gate = _last_gate_line(lines)
        if gate.startswith(gating.STARTING):
            return {"state": "ready", "detail": detail}
        return {"state": "waiting", "detail": gate or "its gate has said nothing yet"}
    failed = [i for i in state.instances if i.state in ("failed", "rejected")]
    if failed:
        last = failed[-1]
        code = f" (exit {last.exit_code})" if last.exit_code is not None else ""
        tail = f"; last lines: {' | '.join(lines[-LOG_LINES:])}" if lines else ""
        return {
            "state": "failing",
            "detail": f"{detail}; {len(failed)} container(s) ended{code}: {last.message}{tail}",
        }
    gate = _last_gate_line(lines)
    if gate.startswith(gating.WAITING):
        return {"state": "waiting", "detail": gate}
    return {"state": "starting", "detail": detail}


def _task_progress(
    spec: ServiceSpec, state: ServiceState | None, said: Callable[[ServiceSpec], list[str]]
) -> dict[str, str]:
    if state is None:
        return {"state": "waiting", "detail": "not made yet"}
    if state.completed:
        return {"state": "done", "detail": "done"}
    failures = [i for i in state.instances if i.state in ("failed", "rejected")]
    attempts = (spec.restart_attempts or 0) + 1
    if len(failures) >= attempts:
        last = failures[-1]
        code = f" (exit {last.exit_code})" if last.exit_code is not None else ""
        return {
            "state": "failed",
            "detail": f"failed {len(failures)} time(s){code}: {last.message}",
        }
    gate = _last_gate_line(said(spec))
    if gate.startswith(gating.WAITING):
        return {"state": "waiting", "detail": gate}
    retried = f" (attempt {len(failures) + 1} of {attempts})" if failures else ""
    if gate:
        return {"state": "running", "detail": f"running{retried}"}
    return {"state": "waiting", "detail": f"starting its container{retried}"}


def _masked(line: str, secrets: Sequence[str]) -> str:
    """``line`` with every secret value in it replaced (a program may echo its password)."""
    for secret in secrets:
        if secret:
            line = line.replace(secret, "<secret>")
    return line


def _last_gate_line(lines: Sequence[str]) -> str:
    """What the gate said last (``gating.SAYS`` stripped), or ""."""
    for line in reversed(lines):
        at = line.find(gating.SAYS)
        if at >= 0:
            return line[at + len(gating.SAYS) :].strip()
    return ""
