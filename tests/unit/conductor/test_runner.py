"""The conductor's runner on a real database (SQLite and PostgreSQL) with the swarm-mode
driver on the in-memory provider: a permanent error fails the operation at once, a temporary
one is retried with backoff until it clears or the deadline passes, steps are persisted so a
conductor taking over a dead one's operation does not redo them, and no join token reaches a
reason or an event. Time is a fake clock: nothing sleeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cove.conductor.monitor import HealthMonitor
from cove.conductor.runner import Runner
from cove.db import models
from cove.drivers.base import StepFailed
from cove.drivers.swarm_mode import SwarmModeDriver
from cove.drivers.swarm_mode.simulation import SwarmSimulator
from cove.failures import Pause
from cove.providers.base import ProviderConflict, ProviderUnavailable
from cove.providers.memory import MemoryProvider
from tests.conftest import Api, template_body
from tests.support.drivers import InstantDriver
from tests.unit.drivers.test_swarm_driver import EchoingRefusal

C1 = "/v1/clusters/c1"


class FakeClock:
    def __init__(self) -> None:
        self.now = models.utcnow()

    def __call__(self) -> datetime:
        return self.now


class Crash(BaseException):
    """A conductor killed right after a step was recorded."""


@dataclass
class Env:
    api: Api
    provider: MemoryProvider
    simulator: SwarmSimulator
    clock: FakeClock

    def runner(self, owner: str = "conductor-a", **kw: Any) -> Runner:
        return Runner.standalone(
            self.api.runner.factory, self.api.drivers, owner, clock=self.clock, **kw
        )

    def run_all(self) -> int:
        """Run every operation claimable now (at the fake clock's time)."""
        runner, count = self.runner(), 0
        while runner.run_one():
            count += 1
        return count

    def cluster(self, name: str = "c1") -> dict[str, Any]:
        return dict(self.api.get(f"/v1/clusters/{name}").json())

    def operations(self) -> list[models.Operation]:
        with self.api.runner.factory() as session:
            return list(session.scalars(select(models.Operation).order_by(models.Operation.id)))

    def last(self) -> models.Operation:
        return self.operations()[-1]

    def events(self, name: str = "c1") -> list[str]:
        body = self.api.get(f"/v1/clusters/{name}/events").json()
        return [e["message"] for e in body["events"]]

    def health(self) -> str:
        """The cluster's health_status after the monitor checked it with the driver."""
        HealthMonitor(self.api.runner.factory, self.api.drivers).check_all()
        return str(self.cluster()["health_status"])

    def created(self) -> dict[str, int]:
        """Node containers created, by name."""
        counts: dict[str, int] = {}
        for action, name in self.provider.events:
            if action == "create":
                counts[name] = counts.get(name, 0) + 1
        return counts


def _image(api: Api, name: str, node_image: str) -> None:
    body = {"name": name, "os_distro": "debian", "node_image": node_image, "public": True}
    assert api.post("/v1/images", json=body).status_code == 201


def _template(api: Api, name: str, image: str) -> None:
    body = template_body(
        name=name, image_id=image, keypair_id=None, tls_disabled=True, master_lb_enabled=False
    )
    response = api.post("/v1/clustertemplates", json=body)
    assert response.status_code == 201, response.text


def _env(make_api: Callable[..., Api], simulator: SwarmSimulator) -> Env:
    provider = MemoryProvider(simulator)
    api = make_api(drivers=[SwarmModeDriver(provider)])
    _image(api, "debian", "cove/node:1")
    _image(api, "debian-2", "cove/node:2")
    _template(api, "swarm-tpl", "debian")
    _template(api, "swarm-tpl-2", "debian-2")
    return Env(api, provider, simulator, FakeClock())


@pytest.fixture
def env(make_api: Callable[..., Api]) -> Env:
    return _env(make_api, SwarmSimulator())


def _create(env: Env, name: str = "c1", **body: Any) -> None:
    body = {"name": name, "cluster_template_id": "swarm-tpl", "node_count": 2, **body}
    response = env.api.post("/v1/clusters", json=body)
    assert response.status_code == 202, response.text


def _created(env: Env, **body: Any) -> None:
    _create(env, **body)
    env.run_all()
    assert env.cluster()["status"] == "CREATE_COMPLETE", env.cluster()["status_reason"]


def _resize(env: Env, count: int) -> None:
    response = env.api.post("/v1/clusters/c1/actions/resize", json={"node_count": count})
    assert response.status_code == 202, response.text


def _upgrade(env: Env) -> None:
    body = {"cluster_template": "swarm-tpl-2"}
    response = env.api.post("/v1/clusters/c1/actions/upgrade", json=body)
    assert response.status_code == 202, response.text


def _heal(env: Env) -> None:
    env.provider.kill(f"cove-{env.cluster()['uuid'][:8]}-worker-1")
    monitor = HealthMonitor(env.api.runner.factory, env.api.drivers)
    assert monitor.check_all() == 0, "within the grace of one check"
    assert monitor.check_all() == 1, "a heal operation was started"


def _start(env: Env, kind: str) -> None:
    {
        "resize": lambda: _resize(env, 3),
        "upgrade": lambda: _upgrade(env),
        "heal": lambda: _heal(env),
    }[kind]()


# -- permanent errors ------------------------------------------------------------------------


def test_a_permanent_provider_error_fails_create_after_one_attempt(env: Env) -> None:
    env.provider.faults.fail("ensure_node", ProviderConflict("name cove-x taken by another"))
    _create(env)
    env.run_all()
    shown = env.cluster()
    assert shown["status"] == "CREATE_FAILED"
    assert "name cove-x taken by another" in shown["status_reason"]
    op = env.last()
    assert op.state == "failed" and op.attempts == 1
    assert any("create failed: name cove-x taken" in m for m in env.events())


@pytest.mark.parametrize("kind", ["resize", "upgrade", "heal"])
def test_a_permanent_provider_error_fails_an_update_after_one_attempt(env: Env, kind: str) -> None:
    _created(env, labels={"auto_healing_enabled": "true"})
    env.provider.faults.fail("ensure_node", ProviderConflict("name cove-x taken by another"))
    _start(env, kind)
    env.run_all()
    shown = env.cluster()
    assert shown["status"] == "UPDATE_FAILED"
    assert "name cove-x taken by another" in shown["status_reason"]
    assert shown["node_count"] == 2, "a failed resize restores the node count"
    op = env.last()
    assert op.kind == kind and op.state == "failed" and op.attempts == 1


# -- temporary errors: retried with backoff ----------------------------------------------------


@pytest.mark.parametrize("kind", ["create", "resize"])
def test_a_temporary_error_is_retried_after_a_backoff_then_succeeds(env: Env, kind: str) -> None:
    if kind == "resize":
        _created(env)
    env.provider.faults.fail("ensure_node", ProviderUnavailable("engine restarting"))
    _create(env) if kind == "create" else _resize(env, 3)
    runner = env.runner()
    assert runner.run_one() is True
    op = env.last()
    assert op.state == "pending" and op.attempts == 1
    assert op.lease_expires_at is not None and op.lease_expires_at > env.clock.now
    assert "engine restarting" in (op.error or "")
    assert any(m.startswith("Retrying in ") and "engine restarting" in m for m in env.events())
    in_progress = "CREATE_IN_PROGRESS" if kind == "create" else "UPDATE_IN_PROGRESS"
    assert env.cluster()["status"] == in_progress
    assert runner.run_one() is False, "not retried before its backoff ends"
    env.clock.now = op.lease_expires_at + timedelta(seconds=1)
    assert runner.run_one() is True
    op = env.last()
    assert op.state == "succeeded" and op.attempts == 2
    shown = env.cluster()
    assert shown["status"] == ("CREATE_COMPLETE" if kind == "create" else "UPDATE_COMPLETE")
    assert shown["node_count"] == (2 if kind == "create" else 3)
    assert env.health() == "HEALTHY"


def test_a_pause_is_no_error_and_says_what_it_waits_for_once(env: Env) -> None:
    """A wait asked for (a batch policy's pause, a deployment following its services): no
    error on the operation, one event per change of what it waits for, not one per look."""
    _create(env)
    runner = env.runner()
    for _ in range(3):
        env.provider.faults.fail("ensure_node", Pause("Waiting for the store.", delay=1.0))
        assert runner.run_one() is True
        op = env.last()
        assert op.state == "pending" and op.error is None
        env.clock.now = op.lease_expires_at + timedelta(seconds=1)  # type: ignore[operator]
    assert runner.run_one() is True
    assert env.last().state == "succeeded"
    assert env.events().count("Waiting for the store.") == 1
    assert not any(m.startswith("Retrying") for m in env.events())


# -- deadlines --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["create", "resize"])
def test_a_temporary_error_at_the_deadline_fails_the_operation(env: Env, kind: str) -> None:
    if kind == "resize":
        _created(env)
    env.provider.faults.fail("ensure_node", ProviderUnavailable("engine restarting"), times=50)
    _create(env) if kind == "create" else _resize(env, 3)
    deadline = env.last().deadline
    assert deadline is not None
    env.clock.now = deadline - timedelta(seconds=1)
    assert env.run_all() == 1
    op = env.last()
    assert op.state == "pending" and op.lease_expires_at is not None
    assert op.lease_expires_at <= deadline, "no backoff past the deadline"
    env.clock.now = op.lease_expires_at
    assert env.run_all() == 1, "the last attempt, at the deadline"
    op = env.last()
    assert op.state == "failed" and op.attempts == 2
    shown = env.cluster()
    assert shown["status"] == ("CREATE_FAILED" if kind == "create" else "UPDATE_FAILED")
    assert f"{kind} did not finish by its deadline" in shown["status_reason"]
    assert "last error: engine restarting" in shown["status_reason"]
    assert env.run_all() == 0, "not retried again"


def test_every_write_gives_its_operation_a_deadline(api: Api, catalog: dict[str, Any]) -> None:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    assert api.post("/v1/clustertemplates", json=template_body(name="tpl-2")).status_code == 201
    cluster = {"name": "c1", "cluster_template_id": "swarm-tpl"}
    writes: list[tuple[str, Callable[[], Any]]] = [
        ("create", lambda: api.post("/v1/clusters", json=cluster)),
        ("resize", lambda: api.post(f"{C1}/actions/resize", json={"node_count": 2})),
        ("upgrade", lambda: api.post(f"{C1}/actions/upgrade", json={"cluster_template": "tpl-2"})),
        ("rotate-ca", lambda: api.patch("/v1/certificates/c1")),
        ("create-nodegroup", lambda: api.post(f"{C1}/nodegroups", json={"name": "ng1"})),
        ("delete", lambda: api.delete(C1)),
    ]
    for kind, write in writes:
        response = write()
        assert response.status_code in (201, 202, 204), (kind, response.text)
        with api.runner.factory() as session:
            op = session.scalars(select(models.Operation).order_by(models.Operation.id)).all()[-1]
        assert op.kind == kind
        assert op.deadline is not None and op.deadline > models.utcnow(), kind
        api.settle()


# -- steps persisted; a conductor takes over a dead one's operation ---------------------------


def test_a_conductor_taking_over_resumes_without_redoing_steps(env: Env) -> None:
    _created(env)
    created = env.last().progress
    assert list(created) == ["network", "nodes", "engines", "swarm"]
    assert all(entry["state"] == "done" for entry in created.values())
    uuid = env.cluster()["uuid"][:8]
    worker0, worker1 = f"cove-{uuid}-worker-0", f"cove-{uuid}-worker-1"
    _upgrade(env)

    def die(step: str) -> None:
        if step == f"upgrade:{worker0}":
            raise Crash(step)

    with pytest.raises(Crash):
        env.runner("conductor-a", after_step=die, lease_seconds=30).run_one()
    op = env.last()
    assert op.state == "running" and op.lease_owner == "conductor-a"
    assert f"upgrade:{worker0}" in op.progress
    assert env.created()[worker0] == 2, "replaced once before the conductor died"

    survivor = env.runner("conductor-b", lease_seconds=30)
    assert survivor.run_one() is False, "a live lease is not taken over"
    env.clock.now += timedelta(seconds=31)
    assert survivor.run_one() is True
    op = env.last()
    assert op.state == "succeeded" and op.attempts == 2
    assert env.created()[worker0] == 2, "the step done by the dead conductor is not redone"
    assert env.created()[worker1] == 2
    shown = env.cluster()
    assert shown["status"] == "UPDATE_COMPLETE" and shown["cluster_template_id"]
    images = {c.image for c in env.provider.containers()}
    assert images == {"cove/node:2"}
    assert env.health() == "HEALTHY"
    # The API shows the upgrade's progress from its recorded steps.
    shown_ops = env.api.get(f"/v1/clusters/{shown['uuid']}/operations").json()["operations"]
    upgrade = shown_ops[0]
    assert (upgrade["kind"], upgrade["state"], upgrade["attempts"]) == ("upgrade", "succeeded", 2)
    names = [step["name"] for step in upgrade["steps"]]
    assert names.index(f"upgrade:{worker0}") < names.index(f"upgrade:{worker1}")
    assert [o["kind"] for o in shown_ops] == ["upgrade", "create"]


# -- secrets ------------------------------------------------------------------------------------


def test_a_failing_join_puts_no_token_in_reasons_or_events(make_api: Callable[..., Api]) -> None:
    env = _env(make_api, EchoingRefusal())
    _create(env)
    env.run_all()
    op = env.last()
    assert op.state == "pending" and "swarm-join failed" in (op.error or "")
    assert op.deadline is not None
    env.clock.now = op.deadline + timedelta(seconds=1)
    env.run_all()
    shown = env.cluster()
    assert shown["status"] == "CREATE_FAILED"
    assert "swarm-join failed" in shown["status_reason"]
    texts = [shown["status_reason"], *env.events(), *(o.error or "" for o in env.operations())]
    assert not [t for t in texts if "SWMTKN" in t or "--token" in t]


class LeakyDriver(InstantDriver):
    """Fails every create with a message that echoes a join command line."""

    name = "leaky"  # serves what the instant driver serves: registered after it, it wins

    def create_cluster(self, op: Any) -> Any:
        op.event("joining with SWMTKN-1-abc123-def456")
        raise StepFailed("docker swarm join --token SWMTKN-1-abc123-def456 10.0.0.2:2377 failed")


def test_the_runner_redacts_tokens_a_driver_lets_through(
    make_api: Callable[..., Api], catalog: Any
) -> None:
    api = make_api(drivers=[LeakyDriver()])
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    assert api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    api.settle()
    shown = api.get("/v1/clusters/c1").json()
    assert shown["status"] == "CREATE_FAILED"
    events = [e["message"] for e in api.get("/v1/clusters/c1/events").json()["events"]]
    assert "joining with <join token>" in events
    assert "docker swarm join --token <secret> 10.0.0.2:2377 failed" in shown["status_reason"]
    assert not [t for t in [shown["status_reason"], *events] if "SWMTKN" in t]
