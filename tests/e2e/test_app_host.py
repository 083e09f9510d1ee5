"""End-to-end: deployments' objects on a real swarm-mode cluster (1 manager, 2 workers, TLS
with the cluster's own CA), through ``SwarmModeDriver.app_host``: an overlay network, a
replicated service behind a health check publishing a port on its hosts (the busybox image
streamed from this machine's engine to every node first), a config and a secret read back
from inside its containers, jobs run to completion or failure, a global service, a rolling
update and an exact removal by label beside another deployment's objects.

Checks run in order on one module-wide cluster. Figures (image transfer, service ready,
update converged, removal) are printed (``-s`` shows them)."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from cove.drivers.apphost import (
    DEPLOYMENT_LABEL,
    ELEMENT_LABEL,
    SPEC_LABEL,
    AppHost,
    FileSpec,
    HealthSpec,
    PortSpec,
    ServiceSpec,
    ServiceState,
)
from cove.drivers.base import OperationInput
from cove.drivers.swarm_mode import SwarmModeDriver
from cove.failures import Permanent
from cove.images import BuiltImage
from cove.pki import ca as pki
from cove.providers.base import LABEL_CLUSTER
from cove.providers.docker import DockerProvider
from tests.e2e.conftest import http_get, node_run, sweep_label, until
from tests.support.swarm import cluster

pytestmark = pytest.mark.e2e

DEP = str(uuid.uuid4())
OTHER = str(uuid.uuid4())
PORT = 18080
CONF = b"greeting from the config\n"
TOKEN = b"s3cret-token\n"
SERVE = (
    'echo "serving $GREETING"; while true; do '
    'printf "HTTP/1.0 200 OK\\r\\n\\r\\n%s %s\\n" "$GREETING" "$(hostname)" | nc -l -p 8080; done'
)
FIGURES: dict[str, float] = {}


@dataclass
class Setup:
    apps: AppHost
    image: str
    addresses: dict[str, str]  # node name -> address
    manager: str


@pytest.fixture(scope="module")
def setup(node_image: BuiltImage, busybox_image: str) -> Iterator[Setup]:
    authority = pki.create_ca("e2e-apps")
    spec = replace(
        cluster(1, 2, image=node_image.ref, template={"tls_disabled": False}),
        uuid=str(uuid.uuid4()),
        ca_cert_pem=authority.cert_pem,
        ca_key_pem=authority.key_pem,
    )
    provider = DockerProvider()
    driver = SwarmModeDriver(provider)
    try:
        driver.create_cluster(OperationInput(kind="create", cluster=spec, params={}))
        nodes = provider.find_nodes(spec.uuid)
        yield Setup(
            driver.app_host(spec),
            busybox_image,
            {n.name: n.address or "" for n in nodes},
            next(n.name for n in nodes if n.role == "master"),
        )
    finally:
        sweep_label(f"{LABEL_CLUSTER}={spec.uuid}")
        provider.close()


def labels(element: str, deployment: str = DEP, **spec: object) -> dict[str, str]:
    digest = hashlib.sha256(repr(sorted(spec.items())).encode()).hexdigest()[:12]
    return {DEPLOYMENT_LABEL: deployment, ELEMENT_LABEL: element, SPEC_LABEL: digest}


def state(setup: Setup, name: str) -> ServiceState | None:
    found = [s for s in setup.apps.services({DEPLOYMENT_LABEL: DEP}) if s.name == name]
    return found[0] if found else None


def web(setup: Setup, greeting: str = "hello") -> ServiceSpec:
    return ServiceSpec(
        name="dep-web",
        image=setup.image,
        labels=labels("web", greeting=greeting),
        replicas=2,
        command=("sh", "-c", SERVE),
        env={"GREETING": greeting},
        ports=(PortSpec(8080, PORT),),
        files=(
            FileSpec("dep-web-conf-1", "/etc/app/app.conf", CONF, gid="0", mode=0o440),
            FileSpec("dep-web-token-1", "/etc/app/token", TOKEN, secret=True, mode=0o400),
        ),
        health=HealthSpec(("CMD", "cat", "/etc/app/app.conf"), interval_s=1, timeout_s=1),
        max_per_node=1,  # one host port per node
        networks=("dep-net",),
        memory_mb=32,
        cpus=0.2,
        stop_grace_s=1,
    )


def job(setup: Setup, name: str, script: str, attempts: int | None = None) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        image=setup.image,
        labels=labels(name, script=script),
        mode="job",
        command=("sh", "-c", script),
        networks=("dep-net",),
        restart_attempts=attempts,
        stop_grace_s=1,
    )


def test_images_reach_every_node_and_networks_are_adopted_or_refused(setup: Setup) -> None:
    started = time.monotonic()
    setup.apps.ensure_images([setup.image])
    FIGURES["images to 3 nodes"] = time.monotonic() - started
    for node in setup.addresses:
        assert node_run(node, "docker", "image", "inspect", setup.image).returncode == 0, node
    started = time.monotonic()
    setup.apps.ensure_images([setup.image])  # every node has it: nothing moves
    FIGURES["images again"] = time.monotonic() - started

    setup.apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: DEP})
    setup.apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: DEP})  # adopted
    with pytest.raises(Permanent, match="network dep-net already exists"):
        setup.apps.ensure_network("dep-net", {DEPLOYMENT_LABEL: OTHER})
    with pytest.raises(Permanent, match="image cove-e2e/none:1 is not available"):
        setup.apps.ensure_images(["cove-e2e/none:1"])

    # Another deployment's objects, which the removal at the end must leave alone.
    setup.apps.ensure_network("other-net", {DEPLOYMENT_LABEL: OTHER})
    other = ServiceSpec(
        name="other-job",
        image=setup.image,
        labels=labels("job", OTHER),
        mode="job",
        command=("cat", "/etc/other.conf"),
        files=(FileSpec("other-conf-1", "/etc/other.conf", b"other\n"),),
        networks=("other-net",),
        stop_grace_s=1,
    )
    setup.apps.ensure_service(other)


def test_a_replicated_service_runs_healthy_and_answers_on_its_hosts(setup: Setup) -> None:
    spec = web(setup)
    started = time.monotonic()
    setup.apps.ensure_service(spec)
    setup.apps.ensure_service(spec)  # the same spec: nothing to do

    def ready() -> ServiceState | None:
        found = state(setup, "dep-web")
        running = [i for i in found.instances if i.desired == "running"] if found else []
        if found and found.running == 2 and all(i.healthy for i in running):
            return found
        return None

    found = until(ready, 90, "dep-web running 2 healthy instances")
    FIGURES["service ready (2 healthy)"] = time.monotonic() - started
    assert found.mode == "replicated" and found.wanted == 2 and found.updating is None
    running = [i for i in found.instances if i.state == "running"]
    assert len({i.node for i in running}) == 2, running  # one per node (max_per_node)
    for instance in running:
        assert "hello" in http_get(setup.addresses[instance.node], PORT)


def test_the_config_and_the_secret_are_in_the_containers(setup: Setup) -> None:
    found = state(setup, "dep-web")
    assert found is not None
    instance = next(i for i in found.instances if i.state == "running")
    assert instance.container

    def inside(*argv: str) -> str:
        result = node_run(instance.node, "docker", "exec", str(instance.container), *argv)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert inside("cat", "/etc/app/app.conf") == CONF.decode()
    assert inside("stat", "-c", "%a %u %g", "/etc/app/app.conf").split() == ["440", "0", "0"]
    assert inside("cat", "/etc/app/token") == TOKEN.decode()
    assert inside("stat", "-c", "%a", "/etc/app/token").strip() == "400"


def test_a_job_completes_and_a_failing_one_is_retried_once(setup: Setup) -> None:
    started = time.monotonic()
    setup.apps.ensure_service(job(setup, "dep-once", "echo done once"))
    setup.apps.ensure_service(job(setup, "dep-fails", "echo trying; exit 3", attempts=1))

    def completed() -> ServiceState | None:
        found = state(setup, "dep-once")
        return found if found and found.completed == 1 else None

    once = until(completed, 60, "dep-once complete")
    FIGURES["job complete"] = time.monotonic() - started
    assert once.mode == "job" and once.wanted == 1
    assert [(i.state, i.exit_code) for i in once.instances] == [("complete", 0)]

    def given_up() -> ServiceState | None:
        found = state(setup, "dep-fails")
        failed = [i for i in found.instances if i.state == "failed"] if found else []
        return found if len(failed) == 2 else None

    fails = until(given_up, 60, "dep-fails failed twice")
    assert {(i.state, i.exit_code) for i in fails.instances} == {("failed", 3)}
    assert fails.completed == 0
    assert "done once" in setup.apps.logs("dep-once")


def test_a_global_service_runs_one_instance_per_node(setup: Setup) -> None:
    spec = ServiceSpec(
        name="dep-agent",
        image=setup.image,
        labels=labels("agent"),
        mode="global",
        command=("sh", "-c", "echo agent up; exec sleep 3600"),
        networks=("dep-net",),
        stop_grace_s=1,
    )
    setup.apps.ensure_service(spec)

    def everywhere() -> ServiceState | None:
        found = state(setup, "dep-agent")
        return found if found and found.running == 3 else None

    found = until(everywhere, 60, "dep-agent on all 3 nodes")
    assert found.mode == "global" and found.wanted == 3
    assert sorted(i.node for i in found.instances) == sorted(setup.addresses)
    assert all(i.healthy is None for i in found.instances)  # no health check


def test_an_update_rolls_one_instance_at_a_time_and_converges(setup: Setup) -> None:
    started = time.monotonic()
    setup.apps.ensure_service(web(setup, "updated"))

    def converged() -> ServiceState | None:
        found = state(setup, "dep-web")
        if not found or found.updating or found.running != 2:
            return None
        answers = [
            http_get(setup.addresses[i.node], PORT, timeout=5)
            for i in found.instances
            if i.state == "running"
        ]
        return found if all("updated" in a for a in answers) else None

    found = until(converged, 120, "dep-web updated on both instances")
    FIGURES["update converged"] = time.monotonic() - started
    assert found.labels[SPEC_LABEL] == labels("web", greeting="updated")[SPEC_LABEL]
    assert sum(1 for i in found.instances if i.desired == "shutdown") >= 2  # the old ones
    lines = setup.apps.logs("dep-web", tail=50)
    assert any("serving updated" in line for line in lines), lines
    assert setup.apps.logs("dep-none") == []


def test_remove_leaves_nothing_of_the_deployment_and_the_other_one_whole(setup: Setup) -> None:
    started = time.monotonic()
    setup.apps.remove({DEPLOYMENT_LABEL: DEP})
    FIGURES["remove"] = time.monotonic() - started
    assert setup.apps.services({DEPLOYMENT_LABEL: DEP}) == []
    for kind in ("service", "config", "secret", "network"):
        # The other deployment has a job, a config and a network, no secret.
        for deployment, left in ((DEP, False), (OTHER, kind != "secret")):
            listed = node_run(
                setup.manager,
                "docker", kind, "ls", "-q", "--filter", f"label={DEPLOYMENT_LABEL}={deployment}",
            )  # fmt: skip
            assert listed.returncode == 0, listed.stderr
            assert bool(listed.stdout.strip()) == left, (kind, deployment, listed.stdout)
    assert [s.name for s in setup.apps.services({DEPLOYMENT_LABEL: OTHER})] == ["other-job"]
    setup.apps.remove({DEPLOYMENT_LABEL: OTHER})
    print({k: round(v, 1) for k, v in FIGURES.items()})
