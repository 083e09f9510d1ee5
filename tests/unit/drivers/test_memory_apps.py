"""The in-memory app host keeps the swarm host's semantics: adopt what carries this
deployment's labels and refuse the rest, update only on a new SPEC_LABEL, jobs made again,
instances placed at once (replicated round-robin, global one per node, jobs complete or
fail per their outcome and retries), images refused when nobody has them, faults armed by
tests, exact removal by label."""

from __future__ import annotations

import pytest

from cove.drivers.apphost import (
    DEPLOYMENT_LABEL,
    ELEMENT_LABEL,
    SPEC_LABEL,
    AppHost,
    FileSpec,
    HealthSpec,
    ServiceSpec,
)
from cove.drivers.memoryapps import MemoryAppHost
from cove.failures import Permanent, Temporary
from tests.support.drivers import InstantDriver
from tests.support.swarm import cluster

DEP = "d-1"
IMAGE = "busybox"


def labels(element: str, spec: str = "s1", deployment: str = DEP) -> dict[str, str]:
    return {DEPLOYMENT_LABEL: deployment, ELEMENT_LABEL: element, SPEC_LABEL: spec}


def host() -> MemoryAppHost:
    apps = MemoryAppHost(host_images=[IMAGE])
    apps.ensure_images([IMAGE])
    apps.ensure_network("d-net", {DEPLOYMENT_LABEL: DEP})
    return apps


def service(name: str = "d-web", spec: str = "s1", **kw: object) -> ServiceSpec:
    return ServiceSpec(name, IMAGE, labels(name, spec), networks=("d-net",), **kw)  # type: ignore[arg-type]


def test_it_is_an_app_host() -> None:
    apps: AppHost = MemoryAppHost()
    assert apps.services({}) == []


def test_replicas_run_round_robin_and_the_same_spec_again_does_nothing() -> None:
    apps = host()
    apps.ensure_service(service(replicas=4, health=HealthSpec(("CMD", "true"))))
    apps.ensure_service(service(replicas=4, health=HealthSpec(("CMD", "true"))))
    [state] = apps.services({DEPLOYMENT_LABEL: DEP})
    assert (state.name, state.mode, state.wanted, state.running) == ("d-web", "replicated", 4, 4)
    assert [i.node for i in state.instances] == ["node-0", "node-1", "node-2", "node-0"]
    assert all(i.healthy and i.container for i in state.instances)
    assert [e for e in apps.events if e[1] == "service"] == [("create", "service", "d-web")]


def test_max_per_node_leaves_the_rest_pending_and_constraints_choose_nodes() -> None:
    apps = host()
    apps.ensure_service(service(replicas=4, max_per_node=1))
    [state] = apps.services({})
    assert [i.state for i in state.instances] == ["running"] * 3 + ["pending"]
    apps.ensure_service(service("d-w", replicas=2, constraints=("node.role==worker",)))
    workers = next(s for s in apps.services({}) if s.name == "d-w")
    assert {i.node for i in workers.instances} == {"node-1", "node-2"}


def test_a_global_service_runs_one_instance_per_ready_node() -> None:
    apps = host()
    apps.stop_node("node-2")
    apps.ensure_service(service("d-agent", mode="global"))
    [state] = apps.services({ELEMENT_LABEL: "d-agent"})
    assert sorted(i.node for i in state.instances) == ["node-0", "node-1"]
    assert state.wanted == 2 and all(i.healthy is None for i in state.instances)


def test_jobs_complete_or_fail_with_their_exit_code_and_retries() -> None:
    apps = host()
    apps.ensure_service(service("d-once", mode="job"))
    apps.set_job_outcome("d-fails", 3)
    apps.ensure_service(service("d-fails", mode="job", restart_attempts=1))
    once, fails = apps.services({})[1], apps.services({})[0]
    assert (once.name, once.completed, once.instances[0].exit_code) == ("d-once", 1, 0)
    assert [(i.state, i.exit_code) for i in fails.instances] == [("failed", 3)] * 2
    apps.set_job_outcome("d-never", 1)
    apps.ensure_service(service("d-never", mode="job", restart_attempts=0))
    never = next(s for s in apps.services({}) if s.name == "d-never")
    assert [i.state for i in never.instances] == ["failed"]


def test_a_changed_job_is_made_again_and_a_changed_service_rolls() -> None:
    apps = host()
    apps.ensure_service(service("d-once", mode="job"))
    apps.ensure_service(service("d-once", "s2", mode="job"))
    assert [e for e in apps.events if e[2] == "d-once"] == [
        ("create", "job", "d-once"),
        ("remove", "job", "d-once"),
        ("create", "job", "d-once"),
    ]
    apps.ensure_service(service(replicas=2))
    apps.ensure_service(service(spec="s2", replicas=2, env={"A": "1"}))
    state = next(s for s in apps.services({}) if s.name == "d-web")
    assert state.labels[SPEC_LABEL] == "s2" and state.running == 2 and state.updating is None
    assert [i.state for i in state.instances] == ["shutdown"] * 2 + ["running"] * 2
    assert apps.service("d-web") == service(spec="s2", replicas=2, env={"A": "1"})


def test_a_failed_update_is_rolled_back_and_the_same_spec_then_refused() -> None:
    apps = host()
    apps.ensure_service(service())
    apps.fail_next_update("d-web")
    apps.ensure_service(service(spec="s2"))
    [state] = apps.services({})
    assert state.updating == "rollback_completed" and state.labels[SPEC_LABEL] == "s1"
    with pytest.raises(Permanent, match="d-web: the update to this spec was rolled back"):
        apps.ensure_service(service(spec="s2"))
    apps.ensure_service(service(spec="s3"))  # a new spec is tried
    [state] = apps.services({})
    assert state.updating is None and state.labels[SPEC_LABEL] == "s3"


def test_a_held_update_rolls_out_until_released_and_instances_carry_their_spec() -> None:
    apps = host()
    apps.ensure_service(service(replicas=2, health=HealthSpec(("CMD", "true"))))
    apps.hold("d-web")
    apps.ensure_service(service(spec="s2", replicas=2, health=HealthSpec(("CMD", "true"))))
    [state] = apps.services({})
    assert state.updating == "updating" and state.running == 0
    assert [(i.state, i.spec) for i in state.instances] == [
        ("shutdown", "s1"), ("shutdown", "s1"), ("starting", "s2"), ("starting", "s2"),
    ]  # fmt: skip
    apps.release("d-web")
    [state] = apps.services({})
    assert state.updating is None and state.running == 2
    assert [i.healthy for i in state.instances if i.spec == "s2"] == [True, True]


def test_a_failed_instance_is_replaced_on_its_node() -> None:
    apps = host()
    apps.ensure_service(service(health=HealthSpec(("CMD", "true"))))
    fresh = apps.fail_instance("d-web", exit_code=137)
    [state] = apps.services({})
    dead, alive = state.instances
    assert (dead.state, dead.exit_code, dead.healthy) == ("failed", 137, False)
    assert alive == fresh and alive.node == dead.node and alive.container != dead.container
    assert state.running == 1


def test_objects_of_others_are_refused_naming_them() -> None:
    apps = host()
    apps.add_service("d-web", labels("d-web", deployment="other"))
    with pytest.raises(Permanent, match="service d-web already exists and is not this"):
        apps.ensure_service(service())
    with pytest.raises(Permanent, match="network d-net already exists"):
        apps.ensure_network("d-net", {DEPLOYMENT_LABEL: "other"})
    apps.add_file("d-conf", {DEPLOYMENT_LABEL: "other"})
    conf = FileSpec("d-conf", "/etc/x", b"x")
    with pytest.raises(Permanent, match="config d-conf already exists"):
        apps.ensure_service(service("d-x", files=(conf,)))
    with pytest.raises(Permanent, match="service d-y: network nowhere not found"):
        apps.ensure_service(ServiceSpec("d-y", IMAGE, labels("d-y"), networks=("nowhere",)))


def test_images_nobody_has_are_refused_and_a_node_without_one_rejects_instances() -> None:
    apps = MemoryAppHost(host_images=[IMAGE])
    with pytest.raises(Permanent, match="image web:9 is not available on node node-0"):
        apps.ensure_images(["web:9"])
    apps.ensure_images([IMAGE, IMAGE])
    apps.ensure_images([IMAGE])
    assert [e for e in apps.events if e[0] == "load"] == [
        ("load", "node-0", IMAGE),
        ("load", "node-1", IMAGE),
        ("load", "node-2", IMAGE),
    ]
    apps.add_node("node-3")
    apps.ensure_service(ServiceSpec("d-g", IMAGE, labels("d-g"), mode="global"))
    [state] = apps.services({})
    rejected = [i for i in state.instances if i.state == "rejected"]
    assert [(i.node, i.message) for i in rejected] == [("node-3", f"No such image: {IMAGE}")]


def test_files_are_made_once_and_secrets_never_shown() -> None:
    apps = host()
    token = FileSpec("d-token", "/run/secrets/t", b"hunter2", secret=True, mode=0o400)
    apps.ensure_service(service(files=(token,)))
    apps.ensure_service(service("d-other", files=(token,)))  # the same file, adopted
    assert [e for e in apps.events if e[1] == "secret"] == [("create", "secret", "d-token")]
    assert apps.file("d-token", secret=True) == token
    assert "hunter2" not in repr(token)


def test_logs_are_the_last_lines_and_absent_services_have_none() -> None:
    apps = host()
    apps.ensure_service(service())
    assert apps.logs("d-web") == []
    apps.add_log("d-web", *(f"line {n}" for n in range(30)))
    assert apps.logs("d-web", tail=2) == ["line 28", "line 29"]
    assert apps.logs("d-none") == []


def test_remove_is_exact_and_keeps_files_others_use() -> None:
    apps = host()
    shared = FileSpec("shared", "/etc/s", b"s")
    apps.ensure_service(service("d-a", files=(shared,)))
    apps.ensure_service(service("d-b", files=(shared,)))
    apps.ensure_network("o-net", {DEPLOYMENT_LABEL: "other"})
    apps.ensure_service(
        ServiceSpec("o-web", IMAGE, labels("o-web", deployment="other"), networks=("o-net",))
    )
    with pytest.raises(Permanent, match="at least one label"):
        apps.remove({})
    apps.remove({ELEMENT_LABEL: "d-a"})  # the file d-a made is still used by d-b
    assert apps.file("shared") is not None
    apps.remove({DEPLOYMENT_LABEL: DEP})
    assert apps.services({DEPLOYMENT_LABEL: DEP}) == []
    assert apps.file("shared") is None and apps.network("d-net") is None
    assert [s.name for s in apps.services({})] == ["o-web"] and apps.network("o-net")
    apps.remove({DEPLOYMENT_LABEL: DEP})  # again: done


def test_faults_armed_by_a_test_fail_the_next_calls() -> None:
    apps = host()
    apps.faults.fail("services", Temporary("manager busy"), times=2)
    for _ in range(2):
        with pytest.raises(Temporary, match="manager busy"):
            apps.services({})
    assert apps.services({}) == []
    apps.faults.fail("ensure_service", Permanent("no"), when=lambda spec: spec.name == "d-bad")
    apps.ensure_service(service())
    with pytest.raises(Permanent):
        apps.ensure_service(service("d-bad"))
    with pytest.raises(ValueError, match="no such method"):
        apps.faults.fail("nodes", Temporary("x"))


def test_the_instant_driver_offers_one_app_host_per_cluster_on_its_nodes() -> None:
    spec = cluster(1, 2)
    driver = InstantDriver()
    apps = driver.app_host(spec)
    assert apps is InstantDriver().app_host(spec)
    apps.ensure_images(["busybox"])
    names = {e[1] for e in apps.events if e[0] == "load"}
    assert names == {n.name for n in driver.container_host(spec).nodes()}
    InstantDriver.apps.pop(spec.uuid)
    InstantDriver.hosts.pop(spec.uuid)
