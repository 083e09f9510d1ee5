"""records.node_record(): the one place Docker's container inspection becomes a NodeRecord."""

from __future__ import annotations

import copy
from typing import Any

from cove.providers.base import NodeRecord
from cove.providers.docker.records import from_summary, host_ports, node_address, node_record

# Trimmed from a real `docker inspect` of a node on Engine 20.10.
RUNNING: dict[str, Any] = {
    "Id": "f928c6ed335f613c5e2b3ae5a5b32a1ef80f9275822a756d38f6c7a36d7f5a26",
    "Name": "/cove-1a2b3c4d-m0",
    "State": {"Status": "running", "Running": True, "Paused": False, "ExitCode": 0},
    "Config": {
        "Image": "cove/node:766821a15820",
        "Labels": {
            "cove.cluster": "1a2b3c4d-0000-4000-8000-000000000001",
            "cove.nodegroup": "ng-1",
            "cove.node": "cove-1a2b3c4d-m0",
            "cove.role": "master",
        },
    },
    "HostConfig": {"NetworkMode": "cove-1a2b3c4d-net"},
    "NetworkSettings": {
        "Ports": {
            "2376/tcp": [
                {"HostIp": "0.0.0.0", "HostPort": "32771"},
                {"HostIp": "::", "HostPort": "32771"},
            ],
            "2377/tcp": None,
        },
        "Networks": {
            "cove-1a2b3c4d-net": {
                "Aliases": ["node-m0", "f928c6ed335f"],
                "Gateway": "172.18.0.1",
                "IPAddress": "172.18.0.2",
                "IPPrefixLen": 16,
            }
        },
    },
}


def test_running_node_record() -> None:
    assert node_record(RUNNING) == NodeRecord(
        name="cove-1a2b3c4d-m0",
        id=RUNNING["Id"],
        cluster_uuid="1a2b3c4d-0000-4000-8000-000000000001",
        nodegroup_uuid="ng-1",
        role="master",
        address="172.18.0.2",
        running=True,
        image="cove/node:766821a15820",
        host_ports={2376: 32771},
    )


# The same container as the engine lists it (`GET /containers/json`, Engine 20.10): with
# the port 2377 exposed but not published, and an extra name a legacy link gives.
LISTED: dict[str, Any] = {
    "Id": RUNNING["Id"],
    "Names": ["/other/node-m0", "/cove-1a2b3c4d-m0"],
    "Image": "cove/node:766821a15820",
    "Ports": [
        {"IP": "::", "PrivatePort": 2376, "PublicPort": 32771, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 2376, "PublicPort": 32771, "Type": "tcp"},
        {"PrivatePort": 2377, "Type": "tcp"},
    ],
    "Labels": RUNNING["Config"]["Labels"],
    "State": "running",
    "Status": "Up 3 minutes",
    "HostConfig": {"NetworkMode": "cove-1a2b3c4d-net"},
    "NetworkSettings": {"Networks": RUNNING["NetworkSettings"]["Networks"]},
}


def test_a_listed_container_gives_the_record_its_inspection_gives() -> None:
    assert node_record(from_summary(LISTED)) == node_record(RUNNING)
    for state, running in (("paused", True), ("restarting", True), ("exited", False)):
        assert node_record(from_summary({**LISTED, "State": state})).running is running


def test_stopped_node_has_no_address_and_no_ports() -> None:
    stopped = copy.deepcopy(RUNNING)
    stopped["State"] = {"Status": "exited", "Running": False, "ExitCode": 137}
    stopped["NetworkSettings"]["Ports"] = {}
    stopped["NetworkSettings"]["Networks"]["cove-1a2b3c4d-net"]["IPAddress"] = ""

    record = node_record(stopped)

    assert (record.running, record.address, record.host_ports) == (False, None, {})


def test_unlabelled_container_gives_empty_ownership() -> None:
    bare = copy.deepcopy(RUNNING)
    bare["Config"]["Labels"] = None

    record = node_record(bare)

    assert (record.cluster_uuid, record.nodegroup_uuid, record.role) == ("", "", "")


def test_address_is_the_one_on_the_network_the_node_was_created_on() -> None:
    attrs = copy.deepcopy(RUNNING)
    attrs["NetworkSettings"]["Networks"]["other"] = {"IPAddress": "10.0.0.9"}
    assert node_address(attrs) == "172.18.0.2"
    # The default bridge reports NetworkMode "default" but the network as "bridge".
    default = {
        "HostConfig": {"NetworkMode": "default"},
        "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
    }
    assert node_address(default) == "172.17.0.2"
    assert node_address({}) is None


def test_host_ports_keep_tcp_bindings_only() -> None:
    ports = {
        "2376/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}],
        "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}],
        "8080/tcp": None,
        "9090/tcp": [],
    }
    assert host_ports(ports) == {2376: 49153}
    assert host_ports(None) == {}


def test_host_ports_take_the_ipv4_binding_when_the_engine_gives_ipv6_another_port() -> None:
    # Seen on this machine's engine: `2376/tcp -> 0.0.0.0:32911` and `-> [::]:32910`.
    ports = {
        "2376/tcp": [
            {"HostIp": "::", "HostPort": "32910"},
            {"HostIp": "0.0.0.0", "HostPort": "32911"},
        ]
    }
    assert host_ports(ports) == {2376: 32911}
