"""What a user follows of a deployment: each element's state and detail, from the
orchestrator's word and the last line its containers' gate wrote."""

from __future__ import annotations

from cove.conductor.deploy import _progress
from cove.deploy.specs import Identity, Plan, plan
from cove.domain.deploy.definition import load
from cove.drivers.apphost import ELEMENT_LABEL, Instance, ServiceSpec, ServiceState

DEFINITION = {
    "name": "p",
    "services": {
        "db": {"image": "i", "command": ["db"], "health_check": {"test": ["ok"]}},
        "api": {"image": "i", "command": ["api"], "requires": [{"task": "schema"}]},
    },
    "tasks": {
        "schema": {"image": "i", "command": ["m"], "retries": 1, "requires": [{"service": "db"}]}
    },
}


def made() -> Plan:
    return plan(load(DEFINITION), {}, [], Identity("d" * 32, "p"), "store")


def state(spec: ServiceSpec, *instances: Instance) -> ServiceState:
    return ServiceState(spec.name, spec.labels, spec.mode, spec.replicas, instances)


def done(spec: ServiceSpec) -> ServiceState:
    return state(spec, Instance("n1", "complete", "complete", "done", 0))


def running(healthy: bool | None = None) -> Instance:
    return Instance("n1", "running", "running", "started", healthy=healthy)


def test_each_element_says_what_it_waits_on_runs_or_failed() -> None:
    p = made()
    states = {
        "cove-store": state(p.store, running(healthy=True)),
        "db": state(p.services["db"], running(healthy=False)),
        "api": state(p.services["api"], Instance("n1", "starting", "running", "starting")),
        "schema": state(p.tasks["schema"], Instance("n2", "running", "complete", "started")),
    }
    lines = {
        p.services["db"].name: ["cove-gate: starting service db", "mysqld: ready"],
        p.services["api"].name: [
            "cove-gate: waiting for task schema done, service db healthy",
            "cove-gate: waiting for task schema done",
        ],
        p.tasks["schema"].name: ["cove-gate: waiting for service db healthy"],
    }
    got = _progress(p, states, lambda s: lines.get(s.name, []))
    assert got == {
        "cove-store": {"state": "ready", "detail": "1/1 running and healthy"},
        "db": {"state": "starting", "detail": "0/1 running and healthy"},
        "api": {"state": "waiting", "detail": "waiting for task schema done"},
        "schema": {"state": "waiting", "detail": "waiting for service db healthy"},
    }
    lines[p.tasks["schema"].name].append("cove-gate: running task schema")
    failed = Instance("n2", "failed", "shutdown", "task: non-zero exit (1)", 1)
    states["schema"] = state(p.tasks["schema"], failed, Instance("n2", "running", "complete", ""))
    assert _progress(p, states, lambda s: lines.get(s.name, []))["schema"] == {
        "state": "running",
        "detail": "running (attempt 2 of 2)",
    }
    states["schema"] = state(p.tasks["schema"], failed, failed)
    assert _progress(p, states, lambda s: [])["schema"] == {
        "state": "failed",
        "detail": "failed 2 time(s) (exit 1): task: non-zero exit (1)",
    }
    states["schema"] = done(p.tasks["schema"])
    assert _progress(p, states, lambda s: [])["schema"] == {"state": "done", "detail": "done"}


def test_a_service_whose_containers_die_is_failing_with_their_last_lines() -> None:
    p = made()
    died = Instance("n1", "failed", "shutdown", "task: non-zero exit (2)", 2)
    states = {"db": state(p.services["db"], died, running(healthy=False))}
    asked: list[str] = []

    def said(spec: ServiceSpec) -> list[str]:
        asked.append(spec.labels[ELEMENT_LABEL])
        return ["cove-gate: starting service db", "db: no space left"]

    got = _progress(p, states, said)
    assert got["db"] == {
        "state": "failing",
        "detail": "0/1 running and healthy; 1 container(s) ended (exit 2): "
        "task: non-zero exit (2); last lines: cove-gate: starting service db | db: no space left",
    }
    assert got["cove-store"] == {"state": "starting", "detail": "not made yet"}
    assert got["schema"] == {"state": "waiting", "detail": "not made yet"}
    assert "cove-store" not in asked  # logs are read only of what was made and is not ready


def test_a_gated_service_without_a_health_check_is_ready_once_its_gate_let_it_start() -> None:
    p = made()
    api = p.services["api"]  # requires the schema task, has no health check
    states = {"api": state(api, running())}
    lines: list[str] = []
    assert _progress(p, states, lambda s: lines)["api"] == {
        "state": "waiting",
        "detail": "its gate has said nothing yet",
    }
    lines.append("cove-gate: waiting for task schema done")
    assert _progress(p, states, lambda s: lines)["api"]["state"] == "waiting"
    lines.append("cove-gate: starting service api")
    assert _progress(p, states, lambda s: lines)["api"] == {
        "state": "ready",
        "detail": "1/1 running",
    }
