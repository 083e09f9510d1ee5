"""A swarm cluster's service containers as the driver asks for them: the load balancer finds
managers by their shared alias on the engine API's port; the registry is published on
loopback only, keeps its data on a volume, and every node forwards localhost:5000 to it."""

from __future__ import annotations

from typing import Any

from cove.drivers.base import ClusterSpec
from cove.drivers.swarm_mode import services

UUID = "0f5c2a4e-1b8d-4c1e-9a7f-3d2b6e8f9a01"


def _cluster(**template: Any) -> ClusterSpec:
    return ClusterSpec(
        uuid=UUID, name="c1", project_id="p", coe="swarm-mode", server_type="vm",
        os_distro="debian", labels={}, template=template, nodegroups=(), ca_cert_pem="",
        ca_key_pem="", master_lb_enabled=True,
    )  # fmt: skip


def test_balancer_passes_the_tls_port_through_to_every_manager() -> None:
    spec = services.lb_spec(_cluster(), "cove/node:x", "net")
    config = spec.files[services.LB_CONFIG].decode()
    assert spec.name == "cove-0f5c2a4e-lb" and spec.kind == "lb"
    assert spec.ports == {2376: 0}
    assert "bind :2376" in config and "mode tcp" in config
    assert f"server-template manager 9 cove-managers-{UUID}:2376" in config
    assert spec.command[0] == "haproxy"


def test_balancer_follows_the_plain_port_when_tls_is_disabled() -> None:
    spec = services.lb_spec(_cluster(tls_disabled=True), "cove/node:x", "net")
    assert spec.ports == {2375: 0}
    assert f"cove-managers-{UUID}:2375" in spec.files[services.LB_CONFIG].decode()


def test_registry_is_loopback_only_with_its_data_on_a_volume() -> None:
    spec = services.registry_spec(_cluster(registry_enabled=True), "cove/node:x", "net")
    assert spec.host_ip == "127.0.0.1" and spec.ports == {5000: 0}
    assert spec.volumes == {"cove-0f5c2a4e-registry-data": services.REGISTRY_STORAGE}
    assert f"cove-registry-{UUID}" in spec.aliases
    assert "addr: :5000" in spec.files[services.REGISTRY_CONFIG].decode()


def test_nodes_forward_localhost_5000_to_the_registry() -> None:
    config = services.registry_proxy_config(_cluster(registry_enabled=True))
    assert "bind 127.0.0.1:5000" in config
    assert f"server registry cove-registry-{UUID}:5000" in config


def test_what_the_template_asks_for() -> None:
    assert services.registry_wanted(_cluster(registry_enabled=True))
    assert not services.registry_wanted(_cluster())
    assert services.lb_wanted(_cluster())
