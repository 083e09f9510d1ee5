"""What node containers use, from the host engine's one-shot stats, and images streamed out
of the host engine. ``node_stats_from`` is pure (tested with recorded engine answers)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import docker.errors

from cove.providers.base import NodeStats
from cove.providers.docker.errors import map_docker_errors
from cove.providers.enginestats import memory_in_use, timestamp

NANO = 1_000_000_000


def node_stats_from(
    attrs: Mapping[str, Any], stats: Mapping[str, Any], host_cpus: float, host_memory: int
) -> NodeStats:
    """A sample from a container's inspection and its one-shot stats."""
    host_config = attrs.get("HostConfig") or {}
    nano_cpus = int(host_config.get("NanoCpus") or 0)
    memory_limit = int(host_config.get("Memory") or 0)
    cpu = stats.get("cpu_stats") or {}
    online = float(cpu.get("online_cpus") or 0) or host_cpus
    return NodeStats(
        name=str(attrs.get("Name", "")).lstrip("/"),
        id=str(attrs.get("Id", "")),
        cpu_time=int((cpu.get("cpu_usage") or {}).get("total_usage") or 0),
        read_at=timestamp(stats.get("read")),
        started_at=timestamp((attrs.get("State") or {}).get("StartedAt")),
        cpus=nano_cpus / NANO if nano_cpus else online,
        memory=memory_in_use(stats.get("memory_stats") or {}),
        memory_limit=memory_limit or host_memory,
    )


class StatsReader:
    """Samples node containers; the host's CPU count and memory are read once."""

    def __init__(self) -> None:
        self._host: tuple[float, int] | None = None

    def host(self, api: docker.APIClient) -> tuple[float, int]:
        if self._host is None:
            info = api.info()
            self._host = (float(info.get("NCPU") or 1), int(info.get("MemTotal") or 0))
        return self._host

    def sample(self, client: docker.DockerClient, names: Sequence[str]) -> dict[str, NodeStats]:
        """Inspect and one-shot stats of each node, in parallel; absent or stopped nodes
        are left out.

        Raises:
            ProviderUnavailable: the engine could not be reached.
        """
        api = client.api
        with map_docker_errors():
            cpus, memory = self.host(api)

        def one(name: str) -> NodeStats | None:
            with map_docker_errors():
                try:
                    attrs = api.inspect_container(name)
                    if not (attrs.get("State") or {}).get("Running"):
                        return None
                    stats = api.stats(name, stream=False, one_shot=True)
                except docker.errors.NotFound:
                    return None
            return node_stats_from(attrs, stats, cpus, memory)

        if not names:
            return {}
        with ThreadPoolExecutor(max_workers=min(16, len(names))) as pool:
            found = list(pool.map(one, names))
        return {s.name: s for s in found if s is not None}


def image_archive(client: docker.DockerClient, ref: str) -> Iterator[bytes] | None:
    """``docker save ref`` as a stream of chunks, or ``None`` if the engine lacks the image.

    Raises:
        ProviderUnavailable: the engine could not be reached (also while streaming).
        ProviderError: the engine refused.
    """
    with map_docker_errors():
        try:
            client.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return None
        chunks = client.api.get_image(ref)

    def stream() -> Iterator[bytes]:
        with map_docker_errors():
            yield from chunks

    return stream()
