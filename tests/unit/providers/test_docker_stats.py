"""The node samples the Docker provider reads from the engine's inspection and one-shot
stats (shapes recorded from Engine 20.10, cgroup v1)."""

from __future__ import annotations

from datetime import UTC, datetime

from cove.providers.docker.stats import node_stats_from
from cove.providers.enginestats import memory_in_use, timestamp

ATTRS = {
    "Name": "/cove-0b7a1f2e-w0",
    "Id": "abc",
    "State": {"Running": True, "StartedAt": "2026-12-06T06:40:00.123456789Z"},
    "HostConfig": {"NanoCpus": 1_500_000_000, "Memory": 512 << 20},
}
STATS = {
    "read": "2026-12-06T06:40:10.5Z",
    "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000}, "online_cpus": 2},
    "memory_stats": {
        "usage": 100 << 20,
        "limit": 512 << 20,
        "stats": {"total_inactive_file": 30 << 20, "cache": 40 << 20},
    },
}


def test_timestamps_keep_microseconds_and_zones() -> None:
    expected = datetime(2026, 12, 6, 6, 40, 0, 123456, tzinfo=UTC).timestamp()
    assert timestamp("2026-12-06T06:40:00.123456789Z") == expected
    assert timestamp("2026-12-06T07:40:00.123456789+01:00") == expected
    assert timestamp("2026-12-06T06:40:00Z") == expected - 0.123456
    assert timestamp("0001-01-01T00:00:00Z") == 0.0
    assert timestamp(None) == 0.0


def test_a_sample_uses_the_node_limits() -> None:
    sample = node_stats_from(ATTRS, STATS, host_cpus=8, host_memory=16 << 30)
    assert sample.name == "cove-0b7a1f2e-w0" and sample.id == "abc"
    assert sample.cpu_time == 2_000_000_000
    assert sample.cpus == 1.5
    assert sample.memory == 70 << 20  # usage less inactive file cache
    assert sample.memory_limit == 512 << 20
    assert round(sample.read_at - sample.started_at, 3) == 10.377


def test_without_limits_the_host_counts() -> None:
    attrs = {**ATTRS, "HostConfig": {"NanoCpus": 0, "Memory": 0}}
    sample = node_stats_from(attrs, STATS, host_cpus=8, host_memory=16 << 30)
    assert sample.cpus == 2  # the engine's online CPUs
    assert sample.memory_limit == 16 << 30
    bare = {**STATS, "cpu_stats": {"cpu_usage": {"total_usage": 5}}}
    assert node_stats_from(attrs, bare, host_cpus=8, host_memory=1).cpus == 8


def test_memory_in_use_on_cgroup_v2_and_without_detail() -> None:
    assert memory_in_use({"usage": 10, "stats": {"inactive_file": 4}}) == 6
    assert memory_in_use({"usage": 10}) == 10
    assert memory_in_use({}) == 0
