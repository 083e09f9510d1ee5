"""The pure parts of the swarm-mode container host: what a ContainerSpec asks of a node's
engine, records read back from it, and the CPU a node used between two samples."""

from __future__ import annotations

from cove.drivers.containerhost import (
    OWNER_LABEL,
    ContainerSpec,
    HealthCheckSpec,
    PortSpec,
    VolumeSpec,
)
from cove.drivers.swarm_mode import containerspecs as specs
from cove.providers.base import NodeStats

NODE = "cove-0c0ffee0-worker-0"


def test_create_arguments_carry_every_field() -> None:
    spec = ContainerSpec(
        name="web-1", image="busybox:1", labels={OWNER_LABEL: "c"}, command=("sleep", "9"),
        env={"A": "1"}, ports=(PortSpec(80), PortSpec(53, 5353, "udp")),
        volumes=(VolumeSpec("data", "/data"), VolumeSpec("/etc/x", "/x", read_only=True)),
        cpus=0.5, memory_mb=64, restart_policy="on-failure",
        healthcheck=HealthCheckSpec(("CMD", "true"), interval=2, timeout=1, retries=2),
    )  # fmt: skip
    create, host = specs.create_arguments(spec)
    assert create["command"] == ["sleep", "9"] and create["environment"] == {"A": "1"}
    assert create["ports"] == [(80, "tcp"), (53, "udp")]
    assert create["healthcheck"]["Interval"] == 2_000_000_000
    assert host["port_bindings"] == {"80/tcp": None, "53/udp": 5353}
    assert host["binds"] == ["data:/data:rw", "/etc/x:/x:ro"]
    assert host["nano_cpus"] == 500_000_000 and host["mem_limit"] == "64m"
    assert host["restart_policy"] == {"Name": "on-failure"}
    _, plain = specs.create_arguments(ContainerSpec("a", "b", {}))
    assert "nano_cpus" not in plain and plain["restart_policy"] == {"Name": ""}


def test_records_from_an_inspection_and_a_listing_agree() -> None:
    attrs = {
        "Id": "abc", "Name": "/web-1",
        "State": {"Status": "running", "ExitCode": 0, "Health": {"Status": "healthy"}},
        "Config": {"Labels": {OWNER_LABEL: "c"}},
        "NetworkSettings": {
            "Networks": {"bridge": {"IPAddress": "172.17.0.2"}},
            "Ports": {"80/tcp": [{"HostIp": "::", "HostPort": "32769"},
                                 {"HostIp": "0.0.0.0", "HostPort": "32768"}]},
        },
    }  # fmt: skip
    summary = {
        "Id": "abc", "Names": ["/web-1"], "State": "running", "Status": "Up 3 s (healthy)",
        "Labels": {OWNER_LABEL: "c"},
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 32768, "Type": "tcp"},
                  {"IP": "::", "PrivatePort": 80, "PublicPort": 32769, "Type": "tcp"}],
        "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
    }  # fmt: skip
    inspected = specs.record_from_inspect(NODE, attrs)
    assert inspected == specs.record_from_listing(NODE, summary)
    assert inspected.ports == {"80/tcp": 32768} and inspected.health == "healthy"
    exited = specs.record_from_listing(
        NODE, {**summary, "State": "exited", "Status": "Exited (137) 2 s ago", "Ports": []}
    )
    assert exited.exit_code == 137 and exited.health is None
    starting = specs.record_from_listing(NODE, {**summary, "Status": "Up 1 s (health: starting)"})
    assert starting.health == "starting"


def test_ownership_needs_every_label() -> None:
    assert specs.owned_by({OWNER_LABEL: "c", "x": "1"}, {OWNER_LABEL: "c"})
    assert not specs.owned_by({OWNER_LABEL: "d"}, {OWNER_LABEL: "c"})
    assert specs.whose({}) == "something other than cove's clustering"


def stats(cpu_time: int, read_at: float, node_id: str = "n") -> NodeStats:
    return NodeStats(NODE, node_id, cpu_time, read_at, 100.0, 2.0, 10, 100)


def test_cpu_is_the_delta_since_the_previous_sample_else_the_average() -> None:
    first, kept = specs.node_load({}, stats(10 * specs.NANO, 110.0), [])
    assert first.cpu == 1.0  # 10 s of CPU over 10 s since start
    inner = specs.Usage("c1", 3 * specs.NANO, 112.0, 110.0, 5)
    second, kept = specs.node_load(kept, stats(11 * specs.NANO, 112.0), [inner])
    assert second.cpu == 2.0  # the node 0.5 core, the new container 1.5 (its average)
    assert second.memory == 15 and second.containers == 1 and second.cpus == 2.0
    restarted, _ = specs.node_load(kept, stats(specs.NANO, 120.0, node_id="new"), [])
    assert restarted.cpu == 0.05  # another container: its average since it started
