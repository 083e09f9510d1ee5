"""The swarm-mode app host without an engine: managers' engines faked behind ``_client``,
nodes and images from the in-memory provider. What a spec becomes (TaskTemplate, mode,
dnsrr endpoints with host-mode ports, update and rollback configs, restart policies, file
references), when it updates, re-creates, adopts or refuses, how tasks read back, logs,
exact removal waiting for networks, the manager chosen, images streamed, engine errors
as cove's failures naming the object and never a file's data."""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import docker.errors
import pytest
import requests

from cove.drivers.apphost import (
    DEPLOYMENT_LABEL,
    ELEMENT_LABEL,
    SPEC_LABEL,
    AppHost,
    FileSpec,
    HealthSpec,
    MountSpec,
    PortSpec,
    ServiceSpec,
)
from cove.drivers.swarm_mode import SwarmModeDriver
from cove.drivers.swarm_mode.apps import SwarmAppHost
from cove.failures import Permanent, Temporary
from cove.providers.base import NetworkSpec, NodeRecord, NodeSpec
from cove.providers.memory import MemoryProvider
from tests.support.swarm import MANAGERS, UUID, WORKERS, cluster

DEP = "dep-1"
IMAGE = "busybox:1"
MANAGER_0, MANAGER_1 = "cove-0c0ffee0-m0", "cove-0c0ffee0-m1"
WORKER = "cove-0c0ffee0-w0"
SECRET = b"hunter2-secret"


def error(status: int, explanation: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    cls = docker.errors.NotFound if status == 404 else docker.errors.APIError
    return cls("x", response, explanation=explanation)


class FakeSwarm:
    """Just enough of a manager's ``docker.APIClient`` (one swarm behind every manager)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.services_: dict[str, dict[str, Any]] = {}
        self.tasks_: dict[str, list[dict[str, Any]]] = {}
        self.configs_: dict[str, dict[str, Any]] = {}
        self.secrets_: dict[str, dict[str, Any]] = {}
        self.networks_: dict[str, dict[str, Any]] = {}
        self.volumes_: dict[str, dict[str, Any]] = {}  # a node's own; every node shares it here
        self.containers_: list[dict[str, Any]] = []  # left by removed services, going
        self.logs_: list[bytes] = []
        self.images: set[str] = set()
        self.down: set[str] = set()  # managers whose ping fails
        self.fail: dict[str, Exception] = {}  # method -> what it raises
        self.network_busy = 0  # removals of a network refused as in use, then pending
        self.pending: set[str] = set()  # network ids still listed after their removal
        self.ids = itertools.count(1)
        self.node = ""

    def _check(self, method: str) -> None:
        if method in self.fail:
            raise self.fail[method]

    def ping(self) -> bool:
        if self.node in self.down:
            raise requests.exceptions.ConnectionError("refused")
        return True

    def networks(self, names: Any = None, filters: Any = None) -> list[dict[str, Any]]:
        found = list(self.networks_.values())
        if names:
            found = [n for n in found if any(x in n["Name"] for x in names)]
        if filters:
            found = [n for n in found if _labelled(n["Labels"], filters["label"])]
        return copy.deepcopy(found)

    def containers(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        assert all  # stopped containers hold volumes too
        return [c for c in self.containers_ if _labelled(c["Labels"], filters["label"])]

    def remove_container(self, ident: str, force: bool = False) -> None:
        self.calls.append(("remove_container", ident))
        found = [c for c in self.containers_ if c["Id"] == ident]
        if not found:
            raise docker.errors.NotFound(f"container {ident}")
        assert force  # a stopped or a running one alike
        self.containers_.remove(found[0])

    def volumes(self, filters: Any = None) -> dict[str, Any]:
        found = [v for v in self.volumes_.values() if _labelled(v["Labels"], filters["label"])]
        return {"Volumes": copy.deepcopy(found) or None}

    def remove_volume(self, name: str) -> None:
        self.calls.append(("remove_volume", name))
        if name not in self.volumes_:
            raise docker.errors.NotFound(f"volume {name}")
        del self.volumes_[name]

    def create_network(self, name: str, **kw: Any) -> dict[str, Any]:
        self.calls.append(("create_network", kw))
        ident = f"n{next(self.ids)}"
        self.networks_[ident] = {"Id": ident, "Name": name, "Labels": kw["labels"]}
        return {"Id": ident}

    def remove_network(self, ident: str) -> None:
        self.calls.append(("remove_network", ident))
        if self.network_busy:
            self.network_busy -= 1
            raise error(403, f"rpc error: network {ident} is in use by task t1")
        self.pending.add(ident)

    def inspect_service(self, name: str) -> dict[str, Any]:
        found = next((s for s in self.services_.values() if s["Spec"]["Name"] == name), None)
        if found is None:
            raise error(404, f"service {name} not found")
        return copy.deepcopy(found)

    def create_service(self, **kw: Any) -> dict[str, Any]:
        self._check("create_service")
        self.calls.append(("create_service", kw))
        ident = f"s{next(self.ids)}"
        self.services_[ident] = {
            "ID": ident,
            "Version": {"Index": 10},
            "Spec": {"Name": kw["name"], "Labels": kw["labels"], "Mode": _engine_mode(kw["mode"]),
                     "TaskTemplate": copy.deepcopy(dict(kw["task_template"]))},
        }  # fmt: skip
        return {"ID": ident}

    def update_service(self, ident: str, version: int, **kw: Any) -> dict[str, Any]:
        self.calls.append(("update_service", (ident, version, kw)))
        self.services_[ident]["Spec"]["Labels"] = kw["labels"]
        return {}

    def remove_service(self, ident: str) -> bool:
        self.calls.append(("remove_service", ident))
        self.services_.pop(ident)
        return True

    def services(self, filters: Any = None) -> list[dict[str, Any]]:
        self._check("services")
        found = self.services_.values()
        if filters:
            found = [s for s in found if _labelled(s["Spec"]["Labels"], filters["label"])]
        return copy.deepcopy(list(found))

    def tasks(self, filters: Any) -> list[dict[str, Any]]:
        return copy.deepcopy(self.tasks_.get(filters["service"], []))

    def nodes(self) -> list[dict[str, Any]]:
        return [
            {"ID": "id-m0", "Description": {"Hostname": MANAGER_0}},
            {"ID": "id-w0", "Description": {"Hostname": WORKER}},
        ]

    def _files(self, secret: bool) -> dict[str, dict[str, Any]]:
        return self.secrets_ if secret else self.configs_

    def _listing(self, secret: bool, filters: Any) -> list[dict[str, Any]]:
        found = list(self._files(secret).values())
        if "name" in filters:
            found = [f for f in found if f["Spec"]["Name"].startswith(filters["name"][0])]
        if "label" in filters:
            found = [f for f in found if _labelled(f["Spec"]["Labels"], filters["label"])]
        return copy.deepcopy(found)

    def configs(self, filters: Any) -> list[dict[str, Any]]:
        return self._listing(False, filters)

    def secrets(self, filters: Any) -> list[dict[str, Any]]:
        return self._listing(True, filters)

    def _create_file(self, secret: bool, name: str, data: bytes, labels: Any) -> dict[str, Any]:
        self._check("create_secret" if secret else "create_config")
        self.calls.append(("create_secret" if secret else "create_config", name))
        ident = f"f{next(self.ids)}"
        self._files(secret)[ident] = {"ID": ident, "Spec": {"Name": name, "Labels": labels}}
        return {"ID": ident}

    def create_config(self, name: str, data: bytes, labels: Any = None) -> dict[str, Any]:
        return self._create_file(False, name, data, labels)

    def create_secret(self, name: str, data: bytes, labels: Any = None) -> dict[str, Any]:
        return self._create_file(True, name, data, labels)

    def remove_config(self, ident: str) -> None:
        self.calls.append(("remove_config", ident))
        self.configs_.pop(ident)

    def remove_secret(self, ident: str) -> None:
        self.calls.append(("remove_secret", ident))
        if any(ident in str(s) for s in self.services_.values()):
            raise error(400, f"secret {ident} is in use by the following service: x")
        self.secrets_.pop(ident)

    def service_logs(self, name: str, **kw: Any) -> Iterator[bytes]:
        self.inspect_service(name)
        self.calls.append(("service_logs", kw))
        return iter(self.logs_)

    def inspect_image(self, ref: str) -> dict[str, Any]:
        if ref not in self.images:
            raise docker.errors.ImageNotFound("no such image")
        return {"Id": ref}

    def load_image(self, archive: Any) -> list[dict[str, Any]]:
        self.calls.append(("load_image", self.node))
        assert b"".join(archive) == b"tar"
        self.images.add(IMAGE)
        return [{"stream": f"Loaded image: {IMAGE}"}]


def _engine_mode(mode: dict[str, Any]) -> dict[str, Any]:
    """As the engine reads it back (docker-py sends "replicated"; Go decodes either case)."""
    return {k[0].upper() + k[1:]: v for k, v in mode.items()}


def _labelled(labels: dict[str, str] | None, selector: list[str]) -> bool:
    pairs = (s.split("=", 1) for s in selector)
    return all((labels or {}).get(k) == v for k, v in pairs)


@pytest.fixture
def swarm() -> FakeSwarm:
    return FakeSwarm()


def made(swarm: FakeSwarm, images: dict[str, bytes] | None = None) -> SwarmAppHost:
    provider = MemoryProvider()
    provider.images.update(images or {})
    network = provider.ensure_network(NetworkSpec(cluster_uuid=UUID, name=""))
    for name, group, role in (
        (MANAGER_0, MANAGERS, "master"),
        (MANAGER_1, MANAGERS, "master"),
        (WORKER, WORKERS, "worker"),
    ):
        provider.ensure_node(NodeSpec(name, name, UUID, group, role, "cove/node:1", network))
    apps = SwarmAppHost(provider, cluster(2, 1))
    engines: dict[str, FakeSwarm] = {}

    def client(record: NodeRecord) -> FakeSwarm:
        swarm.node = record.name  # one swarm; the node last reached is recorded
        engines[record.name] = swarm
        return swarm

    apps._client = client  # type: ignore[assignment,method-assign]
    apps.sleep = lambda _s: None
    return apps


def labels(element: str, spec: str = "h1", deployment: str = DEP) -> dict[str, str]:
    return {DEPLOYMENT_LABEL: deployment, ELEMENT_LABEL: element, SPEC_LABEL: spec}


def web(spec: str = "h1", **kw: Any) -> ServiceSpec:
    fields: dict[str, Any] = {
        "name": "dep-web",
        "image": IMAGE,
        "labels": labels("web", spec),
        "replicas": 2,
        "command": ("sh", "-c", "serve"),
        "env": {"GREETING": "hello"},
        "ports": (PortSpec(8080, 18080), PortSpec(9000)),
        "mounts": (MountSpec("/data", "dep-data"), MountSpec("/etc/h", "/etc", bind=True,
                                                             read_only=True)),
        "files": (
            FileSpec("dep-conf-1", "/etc/app/app.conf", b"conf", gid="10", mode=0o440),
            FileSpec("dep-token-1", "/etc/app/token", SECRET, secret=True, mode=0o400),
        ),
        "health": HealthSpec(("CMD", "true"), interval_s=2, timeout_s=1, retries=2),
        "cpus": 0.5,
        "memory_mb": 64,
        "constraints": ("node.role==worker",),
        "preferences": ("spread=node.labels.zone",),
        "max_per_node": 1,
        "networks": ("dep-net",),
        "aliases": ("web",),
        "stop_grace_s": 3,
    }  # fmt: skip
    fields.update(kw)
    return ServiceSpec(**fields)


def created(swarm: FakeSwarm) -> list[dict[str, Any]]:
    return [kw for call, kw in swarm.calls if call == "create_service"]


def test_it_is_an_app_host(swarm: FakeSwarm) -> None:
    apps: AppHost = made(swarm)
    assert apps.services({}) == []


def test_a_service_spec_becomes_a_dnsrr_swarm_service_with_host_ports(
    swarm: FakeSwarm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    apps = made(swarm)
    apps.ensure_service(web())
    [kw] = created(swarm)
    template = kw["task_template"]
    container = template["ContainerSpec"]
    assert container["Image"] == IMAGE and container["Command"] is None
    assert container["Args"] == ["sh", "-c", "serve"]
    assert container["Env"] == ["GREETING=hello"]
    assert container["Labels"] == labels("web")
    assert container["StopGracePeriod"] == 3_000_000_000
    assert container["Healthcheck"] == {
        "Test": ["CMD", "true"], "Interval": 2_000_000_000, "Timeout": 1_000_000_000,
        "Retries": 2, "StartPeriod": 0,
    }  # fmt: skip
    assert [(m["Type"], m["Source"], m["Target"], m["ReadOnly"]) for m in container["Mounts"]] == [
        ("volume", "dep-data", "/data", False),
        ("bind", "/etc", "/etc/h", True),
    ]
    volume_labels = {DEPLOYMENT_LABEL: DEP, ELEMENT_LABEL: "web"}  # no spec hash: it outlives one
    assert container["Mounts"][0]["VolumeOptions"]["Labels"] == volume_labels
    [config] = container["Configs"]
    assert config["ConfigName"] == "dep-conf-1" and config["ConfigID"] in swarm.configs_
    assert config["File"] == {"Name": "/etc/app/app.conf", "UID": "0", "GID": "10", "Mode": 0o440}
    [secret] = container["Secrets"]
    assert secret["File"] == {"Name": "/etc/app/token", "UID": "0", "GID": "0", "Mode": 0o400}
    assert template["Resources"] == {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20}}
    assert template["RestartPolicy"] == {
        "Condition": "any", "Delay": 1_000_000_000, "MaxAttempts": 0, "Window": 0,
    }  # fmt: skip
    assert template["Placement"] == {
        "Constraints": ["node.role==worker"],
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
        "MaxReplicas": 1,
    }
    assert template["Networks"] == [{"Target": "dep-net", "Aliases": ["web"]}]
    assert kw["name"] == "dep-web" and kw["labels"] == labels("web")
    assert kw["mode"] == {"replicated": {"Replicas": 2}}
    assert kw["endpoint_spec"] == {
        "Mode": "dnsrr",
        "Ports": [
            {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 18080, "PublishMode": "host"}
        ],
    }  # the unpublished port is reached over the service's networks only
    update = kw["update_config"]
    assert (update["Parallelism"], update["FailureAction"], update["Order"]) == (
        1, "rollback", "stop-first",
    )  # fmt: skip
    assert update["Monitor"] > 0 and kw["rollback_config"]["Parallelism"] == 1
    # The files' labels: the deployment's and the element's, not the spec's hash.
    assert [f["Spec"]["Labels"] for f in swarm.secrets_.values()] == [
        {DEPLOYMENT_LABEL: DEP, ELEMENT_LABEL: "web"}
    ]
    assert SECRET.decode() not in caplog.text and SECRET.decode() not in repr(web())


def test_without_published_ports_an_update_starts_the_new_instance_first(
    swarm: FakeSwarm,
) -> None:
    made(swarm).ensure_service(web(ports=(PortSpec(80),), files=(), mounts=(), mode="global"))
    [kw] = created(swarm)
    assert kw["update_config"]["Order"] == "start-first"
    assert kw["mode"] == {"global": {}} and "Ports" not in kw["endpoint_spec"]


def test_an_update_stops_the_old_instance_first_when_both_would_write_one_volume(
    swarm: FakeSwarm,
) -> None:
    apps = made(swarm)
    apps.ensure_service(web(name="dep-db", ports=(), files=(), mounts=(MountSpec("/d", "v"),)))
    read_only = (MountSpec("/d", "v", read_only=True),)
    apps.ensure_service(web(name="dep-ro", ports=(), files=(), mounts=read_only))
    db, ro = created(swarm)
    assert (db["update_config"]["Order"], ro["update_config"]["Order"]) == (
        "stop-first", "start-first",
    )  # fmt: skip


def test_a_job_is_a_replicated_job_retried_on_failure(swarm: FakeSwarm) -> None:
    apps = made(swarm)
    apps.ensure_service(ServiceSpec("dep-once", IMAGE, labels("once"), mode="job",
                                    restart_attempts=1))  # fmt: skip
    apps.ensure_service(ServiceSpec("dep-never", IMAGE, labels("never"), mode="job",
                                    restart_attempts=0))  # fmt: skip
    apps.ensure_service(ServiceSpec("dep-ever", IMAGE, labels("ever"), mode="job"))
    once, never, ever = created(swarm)
    assert once["mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}
    assert once["update_config"] is None and once["rollback_config"] is None
    policy = once["task_template"]["RestartPolicy"]
    assert (policy["Condition"], policy["MaxAttempts"]) == ("on-failure", 1)
    assert never["task_template"]["RestartPolicy"]["Condition"] == "none"
    assert ever["task_template"]["RestartPolicy"]["MaxAttempts"] == 0  # unbounded


def test_the_same_spec_does_nothing_a_new_one_updates_and_a_job_is_made_again(
    swarm: FakeSwarm,
) -> None:
    apps = made(swarm)
    apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: DEP})
    apps.ensure_service(web())
    before = len(swarm.calls)
    apps.ensure_service(web())
    assert swarm.calls[before:] == []
    apps.ensure_service(web("h2", env={"GREETING": "bye"}))
    [(call, (_, version, kw))] = swarm.calls[before:]
    assert call == "update_service" and version == 10
    assert kw["task_template"]["ContainerSpec"]["Env"] == ["GREETING=bye"]
    assert kw["labels"][SPEC_LABEL] == "h2"
    # The files are adopted by name, not made again.
    assert [c for c, _ in swarm.calls].count("create_config") == 1

    job = ServiceSpec("dep-once", IMAGE, labels("once"), mode="job")
    apps.ensure_service(job)
    apps.ensure_service(replace(job, labels=labels("once", "h2")))
    assert [c for c, _ in swarm.calls[-3:]] == ["create_service", "remove_service",
                                                "create_service"]  # fmt: skip
    apps.ensure_service(web("h3", mode="global"))  # a mode change: made again
    assert [c for c, _ in swarm.calls[-2:]] == ["remove_service", "create_service"]


def test_objects_of_others_are_refused_naming_them(swarm: FakeSwarm) -> None:
    apps = made(swarm)
    apps.ensure_service(web())
    with pytest.raises(Permanent, match="service dep-web already exists and is not this"):
        apps.ensure_service(web(labels=labels("web", deployment="other")))
    swarm.configs_["x"] = {"ID": "x", "Spec": {"Name": "o-conf", "Labels": {}}}
    with pytest.raises(Permanent, match="config o-conf already exists and is not this"):
        apps.ensure_service(web(name="dep-2", files=(FileSpec("o-conf", "/x", b"x"),)))
    apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: DEP})
    apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: DEP})
    assert [c for c, _ in swarm.calls].count("create_network") == 1
    [(_, kw)] = [c for c in swarm.calls if c[0] == "create_network"]
    assert (kw["driver"], kw["attachable"]) == ("overlay", True)
    with pytest.raises(Permanent, match="network dep-net already exists"):
        apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: "other"})
    apps.ensure_network("dep", {DEPLOYMENT_LABEL: DEP})  # a name "dep-net" contains


def test_a_rolled_back_spec_is_refused_rather_than_tried_again(swarm: FakeSwarm) -> None:
    apps = made(swarm)
    apps.ensure_service(web())
    [service] = swarm.services_.values()
    service["UpdateStatus"] = {"State": "rollback_completed", "Message": "update rolled back"}
    service["PreviousSpec"] = {"Labels": labels("web", "h2")}
    with pytest.raises(Permanent, match="dep-web: the update to this spec was rolled back"):
        apps.ensure_service(web("h2"))
    apps.ensure_service(web("h3"))  # another spec is tried


def test_tasks_read_back_as_instances_with_nodes_exit_codes_and_health(
    swarm: FakeSwarm,
) -> None:
    apps = made(swarm)
    apps.ensure_service(web())
    [ident] = swarm.services_
    swarm.services_[ident]["UpdateStatus"] = {"State": "updating"}
    swarm.tasks_[ident] = [
        {"ID": "t2", "CreatedAt": "2", "NodeID": "id-w0", "DesiredState": "running",
         "Spec": {"ContainerSpec": {"Labels": {SPEC_LABEL: "new"}}},
         "Status": {"State": "running", "Message": "started",
                    "ContainerStatus": {"ContainerID": "c2", "PID": 9}}},
        {"ID": "t1", "CreatedAt": "1", "NodeID": "id-m0", "DesiredState": "shutdown",
         "Status": {"State": "failed", "Err": "task: non-zero exit (1): unhealthy container",
                    "ContainerStatus": {"ContainerID": "c1", "ExitCode": 1}}},
        {"ID": "t3", "CreatedAt": "3", "DesiredState": "running",
         "Status": {"State": "pending", "Message": "pending task scheduling"}},
    ]  # fmt: skip
    [state] = apps.services({DEPLOYMENT_LABEL: DEP})
    assert (state.name, state.mode, state.wanted, state.updating) == (
        "dep-web", "replicated", 2, "updating",
    )  # fmt: skip
    assert [
        (i.node, i.state, i.exit_code, i.container, i.healthy, i.spec) for i in state.instances
    ] == [
        (MANAGER_0, "failed", 1, "c1", False, None),
        (WORKER, "running", None, "c2", True, "new"),  # which version of the service it runs
        ("", "pending", None, None, None, None),
    ]
    assert state.running == 1 and state.instances[0].message.startswith("task: non-zero")
    assert apps.services({DEPLOYMENT_LABEL: "other"}) == []


def test_logs_are_decoded_lines_and_absent_services_have_none(swarm: FakeSwarm) -> None:
    apps = made(swarm)
    apps.ensure_service(web())
    swarm.logs_ = [b"one\ntw", b"o\nthree\n", "caf\u00e9\n".encode()]
    assert apps.logs("dep-web", tail=3) == ["two", "three", "caf\u00e9"]
    assert swarm.calls[-1][1]["tail"] == 3
    swarm.logs_ = []
    assert apps.logs("dep-web") == []
    assert apps.logs("dep-none") == []


def test_remove_is_exact_and_waits_for_the_networks(swarm: FakeSwarm) -> None:
    apps = made(swarm)
    apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: DEP})
    apps.ensure_network("o-net", {DEPLOYMENT_LABEL: "other"})
    apps.ensure_service(web())
    apps.ensure_service(web(name="o-web", labels=labels("web", deployment="other"), files=()))
    swarm.network_busy = 2  # tasks still attached, twice
    for name, deployment in (("dep-data", DEP), ("o-data", "other")):
        swarm.volumes_[name] = {"Name": name, "Labels": labels("web", deployment=deployment)}
        swarm.containers_.append({"Id": name, "Labels": labels("web", deployment=deployment)})
    listed = 0

    def networks(names: Any = None, filters: Any = None) -> list[dict[str, Any]]:
        nonlocal listed
        found = FakeSwarm.networks(swarm, names, filters)
        listed += 1
        if listed == 2:  # still pending deletion once, then gone
            return found
        return [n for n in found if n["Id"] not in swarm.pending]

    swarm.networks = networks  # type: ignore[method-assign]
    with pytest.raises(Permanent, match="at least one label"):
        apps.remove({})
    apps.remove({DEPLOYMENT_LABEL: DEP})
    assert [s["Spec"]["Name"] for s in swarm.services_.values()] == ["o-web"]
    assert [c for c, _ in swarm.calls].count("remove_network") == 3
    assert swarm.configs_ == {} and swarm.secrets_ == {}
    assert list(swarm.volumes_) == ["o-data"]  # the deployment's volumes, on every node
    assert [c["Id"] for c in swarm.containers_] == ["o-data"]  # only its containers went
    assert {n["Name"] for n in swarm.networks_.values() if n["Id"] not in swarm.pending} == {
        "o-net"
    }


def test_a_network_still_in_use_past_the_deadline_is_temporary(
    swarm: FakeSwarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps = made(swarm)
    apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: DEP})
    swarm.network_busy = 10**6
    monkeypatch.setattr("cove.drivers.swarm_mode.apps.REMOVE_WAIT_S", -1.0)
    with pytest.raises(Temporary, match="network dep-net is still in use"):
        apps.remove({DEPLOYMENT_LABEL: DEP})


def test_a_secret_another_service_uses_is_kept(swarm: FakeSwarm) -> None:
    apps = made(swarm)
    apps.ensure_service(web())
    apps.ensure_service(web(name="dep-web-2", labels=labels("web-2")))  # the same files
    apps.remove({ELEMENT_LABEL: "web"})
    assert [s["Spec"]["Name"] for s in swarm.secrets_.values()] == ["dep-token-1"]


def test_the_first_manager_that_answers_is_used_and_none_is_temporary(
    swarm: FakeSwarm,
) -> None:
    apps = made(swarm)
    swarm.down = {MANAGER_0}
    apps.services({})
    assert swarm.node == MANAGER_1
    swarm.down = {MANAGER_0, MANAGER_1}
    with pytest.raises(Temporary, match="cluster c1: no manager's engine answers"):
        apps.services({})


def test_images_are_streamed_to_every_running_node_once(swarm: FakeSwarm) -> None:
    apps = made(swarm, {IMAGE: b"tar"})
    apps.ensure_images([IMAGE, IMAGE])
    assert [c for c, _ in swarm.calls].count("load_image") == 1  # one fake engine for all
    with pytest.raises(Permanent, match="image web:9 is not available on node"):
        apps.ensure_images(["web:9"])


def test_engine_errors_become_failures_naming_the_object(swarm: FakeSwarm) -> None:
    apps = made(swarm)
    swarm.fail["create_secret"] = error(400, "bad secret")
    with pytest.raises(Permanent) as refused:
        apps.ensure_service(web())
    assert "creating secret dep-token-1: bad secret" in str(refused.value)
    assert SECRET.decode() not in str(refused.value)
    del swarm.fail["create_secret"]
    swarm.fail["create_service"] = error(500, "raft busy")
    with pytest.raises(Temporary, match="creating service dep-web: raft busy"):
        apps.ensure_service(web())
    swarm.fail["create_service"] = error(400, "invalid mount")
    with pytest.raises(Permanent, match="creating service dep-web: invalid mount"):
        apps.ensure_service(web())
    swarm.fail["services"] = requests.exceptions.ConnectionError("reset")
    with pytest.raises(Temporary, match="listing services: its engine does not answer"):
        apps.services({})
    with pytest.raises(Permanent, match="placement preference 'pack=x'"):
        made(FakeSwarm()).ensure_service(web(preferences=("pack=x",)))


def test_the_driver_keeps_one_app_host_per_cluster_sharing_the_node_engines() -> None:
    driver = SwarmModeDriver(MemoryProvider())
    spec = cluster()
    apps = driver.app_host(spec)
    assert driver.app_host(spec) is apps
    assert apps.engines is driver.container_host(spec).engines
    rotated = replace(spec, ca_cert_pem="new")
    assert driver.app_host(rotated) is not apps
