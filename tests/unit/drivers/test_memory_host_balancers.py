"""MemoryContainerHost's balancers keep the real host's contract: made once, the same spec
does nothing, changed members are a reload of the same balancer, someone else's name is
refused, a spec the balancer cannot serve is refused, removing an absent one is done."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cove.drivers.containerhost import OWNER_LABEL, Backend, BalancerSpec, ContainerHost
from cove.drivers.memoryhost import MemoryContainerHost
from cove.failures import Permanent

A = Backend("member-a", "10.0.0.2", 32768)
B = Backend("member-b", "10.0.0.3", 32768)
SPEC = BalancerSpec("cc-1-lb", {OWNER_LABEL: "cc-1"}, port=80, backends=(A, B))


def lb_events(host: MemoryContainerHost) -> list[str]:
    return [action for action, _, name in host.events if action.startswith("lb-")]


def test_made_once_then_the_same_spec_does_nothing() -> None:
    host = MemoryContainerHost()
    record = host.ensure_balancer(SPEC)
    assert (record.name, record.address) == ("cc-1-lb", "127.0.0.1") and record.port > 0
    assert host.ensure_balancer(SPEC) == record
    assert lb_events(host) == ["lb-create"]
    assert host.balancer("cc-1-lb") == SPEC


def test_changed_members_reload_the_same_balancer() -> None:
    host = MemoryContainerHost()
    record = host.ensure_balancer(SPEC)
    assert host.ensure_balancer(replace(SPEC, backends=(A,))) == record
    assert host.ensure_balancer(replace(SPEC, backends=(B, A))) == record
    assert lb_events(host) == ["lb-create", "lb-reload", "lb-reload"]
    assert [b.name for b in host.balancer("cc-1-lb").backends] == ["member-b", "member-a"]  # type: ignore[union-attr]
    config = host.balancer_config("cc-1-lb")
    assert config is not None and "server member-a 10.0.0.2:32768" in config


def test_a_new_listening_port_recreates_it() -> None:
    host = MemoryContainerHost()
    first = host.ensure_balancer(SPEC)
    second = host.ensure_balancer(replace(SPEC, port=8080))
    assert second.port != first.port
    assert lb_events(host) == ["lb-create", "lb-remove", "lb-create"]


def test_someone_elses_name_and_a_bad_spec_are_refused() -> None:
    host = MemoryContainerHost()
    host.ensure_balancer(SPEC)
    with pytest.raises(Permanent, match="container cc-1-lb already exists"):
        host.ensure_balancer(replace(SPEC, labels={OWNER_LABEL: "cc-2"}))
    host.add_host_container("taken")
    with pytest.raises(Permanent, match="container taken already exists"):
        host.ensure_balancer(replace(SPEC, name="taken"))
    with pytest.raises(Permanent, match="protocol UDP"):
        host.ensure_balancer(replace(SPEC, name="other", protocol="UDP"))
    assert host.balancer("other") is None and host.balancer("taken") is None


def test_remove_is_idempotent_and_faults_can_be_armed() -> None:
    host: ContainerHost = MemoryContainerHost()
    host.ensure_balancer(SPEC)
    host.remove_balancer("cc-1-lb")
    host.remove_balancer("cc-1-lb")
    assert isinstance(host, MemoryContainerHost)
    assert host.balancer("cc-1-lb") is None
    assert lb_events(host) == ["lb-create", "lb-remove"]
    host.faults.fail("ensure_balancer", Permanent("no"))
    with pytest.raises(Permanent, match="no"):
        host.ensure_balancer(SPEC)
    host.ensure_balancer(SPEC)
