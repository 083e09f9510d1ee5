"""The load samples kept between actions: placement reuses a fresh one, the conductor's
thread keeps the hosts in use fresh, and hosts no longer placed on are not sampled."""

from __future__ import annotations

import pytest

from cove.conductor.clustering.loads import FRESH, IDLE, REFRESH, HostLoads
from cove.drivers.containerhost import NodeLoad


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingHost:
    """A host whose every ``loads()`` is a new sample: its container count is the call's
    number."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    def loads(self) -> dict[str, NodeLoad]:
        if self.fail:
            raise RuntimeError("engine does not answer")
        self.calls += 1
        return {"n0": NodeLoad(0.0, 2.0, 0, 2**30, containers=self.calls)}


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_fresh_sample_is_reused_and_a_stale_one_taken_again(clock: Clock) -> None:
    loads, host = HostLoads(clock), CountingHost()
    assert loads.of(host)["n0"].containers == 1
    clock.now += FRESH - 1
    assert loads.of(host)["n0"].containers == 1
    clock.now += 2
    assert loads.of(host)["n0"].containers == 2


def test_refresh_samples_hosts_in_use_once_per_period(clock: Clock) -> None:
    loads, host = HostLoads(clock), CountingHost()
    loads.of(host)
    assert loads.refresh() == 0 and host.calls == 1  # just sampled
    clock.now += REFRESH
    assert loads.refresh() == 1 and host.calls == 2
    assert loads.of(host)["n0"].containers == 2  # no wait


def test_a_host_idle_for_long_is_no_longer_sampled(clock: Clock) -> None:
    loads, host = HostLoads(clock), CountingHost()
    loads.of(host)
    clock.now += IDLE
    assert loads.refresh() == 0 and host.calls == 1


def test_a_failed_background_sample_leaves_placement_to_sample(clock: Clock) -> None:
    loads, host = HostLoads(clock), CountingHost()
    loads.of(host)
    host.fail = True
    clock.now += FRESH
    assert loads.refresh() == 0
    with pytest.raises(RuntimeError, match="does not answer"):
        loads.of(host)
