"""End-to-end: the balancer a container cluster gets (Senlin's loadbalance policy) on a real
swarm-mode cluster: an haproxy container on this machine's engine, on the cluster network,
in front of busybox members placed on the cluster's nodes with ``ensure_container``.

Each member answers its own name over HTTP (busybox ``httpd`` on 8080) and, on 9000, says
its name then echoes what it is sent (a long-lived TCP connection). Requests go from the test
to the balancer's published address with ``http.client`` and sockets. Figures (create,
reload with a changed member set, a killed member taken out) are printed (``-s``)."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import replace

import pytest

from cove.drivers.containerhost import (
    NODE_LABEL,
    OWNER_LABEL,
    Backend,
    BalancerCheck,
    BalancerRecord,
    BalancerSpec,
    ContainerHost,
    ContainerSpec,
    PortSpec,
)
from cove.failures import Permanent
from cove.providers.base import LABEL_CLUSTER
from tests.e2e.conftest import docker, label_args
from tests.e2e.test_container_host import host, live, node_run  # noqa: F401  (the cluster fixtures)

# Checks in order on module-wide clusters: scripts/test.sh keeps a module on one worker.
pytestmark = pytest.mark.e2e

OWNER = str(uuid.uuid4())
PREFIX = f"lb-{OWNER[:6]}"
CHECK = BalancerCheck(type="HTTP", delay=1, timeout=1, max_retries=2, url_path="/")

# httpd in the background answers its name; nc (-ll: one child per connection) says the
# name, then echoes.
MEMBER = (
    'mkdir -p /www && echo "$NAME" > /www/index.html && httpd -p 8080 -h /www && '
    "printf '#!/bin/sh\\necho \"$NAME\"\\nexec cat\\n' > /tmp/greet && chmod +x /tmp/greet && "
    "exec nc -ll -p 9000 -e /tmp/greet"
)


@pytest.fixture(scope="module")
def members(host: ContainerHost, busybox_image: str) -> dict[str, tuple[str, Backend, Backend]]:  # noqa: F811
    """Three members, one per node: name -> (node, HTTP backend, echo backend)."""
    found = {}
    for index, node in enumerate(sorted(n.name for n in host.nodes())):
        name = f"{PREFIX}-web-{index}"
        record = host.ensure_container(
            node,
            ContainerSpec(
                name=name,
                image=busybox_image,
                labels={OWNER_LABEL: OWNER, NODE_LABEL: name},
                command=("sh", "-c", MEMBER),
                env={"NAME": name},
                ports=(PortSpec(8080), PortSpec(9000)),
            ),
        )
        address = next(n.address for n in host.nodes() if n.name == node)
        found[name] = (
            node,
            Backend(name, address, record.ports["8080/tcp"]),
            Backend(name, address, record.ports["9000/tcp"]),
        )
    return found


def balancer_spec(name: str, backends: list[Backend], **kw: object) -> BalancerSpec:
    return BalancerSpec(
        name=f"{PREFIX}-{name}",
        labels={OWNER_LABEL: OWNER},
        port=80,
        backends=tuple(backends),
        **kw,  # type: ignore[arg-type]
    )


def get(lb: BalancerRecord) -> tuple[int, str]:
    conn = http.client.HTTPConnection(lb.address, lb.port, timeout=10)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode().strip()
    finally:
        conn.close()


def answers(lb: BalancerRecord, count: int = 30) -> Counter[str]:
    """Who answered ``count`` requests (a failed request counts as its status)."""
    seen: Counter[str] = Counter()
    for _ in range(count):
        status, body = get(lb)
        seen[body if status == 200 else f"status {status}"] += 1
    return seen


def wait_for(what: str, test: object, timeout: float = 30.0) -> float:
    """Seconds until ``test()`` is true (fails the test after ``timeout``)."""
    started = time.monotonic()
    while not test():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - started


def container_state(name: str) -> tuple[str, str, str]:
    """(id, start time, restart count) of a container on this machine's engine."""
    out = docker("inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{.RestartCount}}", name)
    ident, started, restarts = out.split()
    return ident, started, restarts


def balancer_log(name: str) -> str:
    """What haproxy printed (state changes of members go to its stderr)."""
    logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False)
    return logs.stdout + logs.stderr


def test_requests_reach_every_member(
    host: ContainerHost,  # noqa: F811
    members: dict[str, tuple[str, Backend, Backend]],
) -> None:
    spec = balancer_spec("web", [m[1] for m in members.values()], check=CHECK)
    started = time.monotonic()
    lb = host.ensure_balancer(spec)
    took = time.monotonic() - started
    print(f"\nensure_balancer (create): {took:.2f} s")
    assert lb.name == spec.name and lb.address == "127.0.0.1" and lb.port > 0
    waited = wait_for("every member answers", lambda: set(answers(lb, 12)) == set(members))
    print(f"all three members answering {waited:.2f} s after the create returned")
    seen = answers(lb, 30)
    assert set(seen) == set(members), seen
    assert all(count == 10 for count in seen.values()), seen  # round robin

    labels = docker("inspect", "-f", "{{json .Config.Labels}}", spec.name)
    assert f'"{OWNER_LABEL}":"{OWNER}"' in labels
    assert f'"{LABEL_CLUSTER}":' in labels  # deleting the host cluster removes it
    ident, _, _ = container_state(spec.name)
    assert host.ensure_balancer(spec) == lb  # the same spec: nothing changes
    assert container_state(spec.name)[0] == ident
    config = docker("exec", spec.name, "cat", "/etc/cove/balancer.cfg")
    assert config.count("\n    server ") == 3 and "option httpchk GET /" in config


def test_a_dropped_member_gets_no_more_requests_and_the_reload_is_graceful(
    host: ContainerHost,  # noqa: F811
    members: dict[str, tuple[str, Backend, Backend]],
) -> None:
    echo = host.ensure_balancer(
        balancer_spec("echo", [m[2] for m in members.values()], protocol="TCP")
    )
    web_spec = balancer_spec("web", [m[1] for m in members.values()], check=CHECK)
    web = host.ensure_balancer(web_spec)
    before_web, before_echo = container_state(web_spec.name), container_state(f"{PREFIX}-echo")

    with socket.create_connection((echo.address, echo.port), timeout=10) as conn:
        reader = conn.makefile("rb")
        held = reader.readline().decode().strip()  # the member this connection reached
        assert held in members
        conn.sendall(b"before\n")
        assert reader.readline() == b"before\n"

        kept = [m for m in members if m != held]
        started = time.monotonic()
        host.ensure_balancer(balancer_spec("echo", [members[m][2] for m in kept], protocol="TCP"))
        echo_took = time.monotonic() - started
        started = time.monotonic()
        host.ensure_balancer(replace(web_spec, backends=tuple(members[m][1] for m in kept)))
        web_took = time.monotonic() - started
        print(
            f"\nensure_balancer (reload, a member dropped): HTTP {web_took:.2f} s, "
            f"TCP {echo_took:.2f} s"
        )

        # The connection opened before the reload still carries data to its member.
        conn.sendall(b"after\n")
        assert reader.readline() == b"after\n"

    seen = answers(web, 30)
    assert set(seen) == set(kept), seen
    for _ in range(6):  # new TCP connections never reach the dropped member
        with socket.create_connection((echo.address, echo.port), timeout=10) as fresh:
            assert fresh.makefile("rb").readline().decode().strip() in kept
    # Reloaded in place: the same containers, never restarted.
    assert container_state(web_spec.name) == before_web
    assert container_state(f"{PREFIX}-echo") == before_echo
    host.remove_balancer(f"{PREFIX}-echo")


def test_a_killed_member_is_taken_out_by_the_health_check(
    host: ContainerHost,  # noqa: F811
    members: dict[str, tuple[str, Backend, Backend]],
) -> None:
    web = host.ensure_balancer(balancer_spec("web", [m[1] for m in members.values()], check=CHECK))
    wait_for("every member answers", lambda: set(answers(web, 12)) == set(members))
    victim = sorted(members)[1]
    node = members[victim][0]
    assert node_run(node, "docker", "kill", victim).returncode == 0
    killed = time.monotonic()
    outcomes: Counter[str] = Counter()

    def out() -> bool:
        seen = answers(web, 6)
        outcomes.update(seen)
        return victim not in seen

    wait_for(f"{victim} taken out", out, timeout=CHECK.delay * CHECK.max_retries + 5)
    # The health check, not only a refused connection, marks it down (haproxy says so).
    down = f"Server members/{victim} is DOWN"
    wait_for(down, lambda: down in balancer_log(web.name), 10)
    took = time.monotonic() - killed
    print(f"\nkilled member marked down by the health check after {took:.2f} s")
    assert took <= CHECK.delay * CHECK.max_retries + CHECK.timeout + 1
    # Meanwhile every request was answered (retried on another member when refused).
    assert not [k for k in outcomes if k.startswith("status")], outcomes
    # Once out, it stays out and the others share the load.
    assert set(answers(web, 20)) == set(members) - {victim}


def test_a_container_of_that_name_that_is_not_ours_is_refused(
    host: ContainerHost,  # noqa: F811
    busybox_image: str,
    e2e_labels: dict[str, str],
) -> None:
    name = f"{PREFIX}-foreign"
    docker("create", f"--name={name}", *label_args(e2e_labels), busybox_image, "sleep", "60")
    with pytest.raises(Permanent, match=f"container {name} already exists"):
        host.ensure_balancer(balancer_spec("foreign", []))
    host.remove_balancer(name)  # not a balancer of this cluster: left alone
    assert docker("ps", "-aq", "--filter", f"name=^{name}$")


def test_remove_leaves_no_container(host: ContainerHost) -> None:  # noqa: F811
    name = f"{PREFIX}-web"
    assert docker("ps", "-aq", "--filter", f"name=^{name}$")
    host.remove_balancer(name)
    assert not docker("ps", "-aq", "--filter", f"name=^{name}$")
    host.remove_balancer(name)  # absent: done
