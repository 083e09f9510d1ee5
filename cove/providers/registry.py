"""Providers by kind, made on first use (an API process that only validates templates never
connects to an engine). The composition root (``cove serve``, ``cove conductor``) builds one
set and hands each driver its provider."""

from __future__ import annotations

import threading

from cove.providers.base import DEFAULT_PUBLISH_ADDRESS, Provider


class ProviderSet:
    def __init__(
        self, docker_host: str | None = None, *, publish_address: str = DEFAULT_PUBLISH_ADDRESS
    ) -> None:
        self._docker_host = docker_host
        self._publish_address = publish_address
        self._made: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def __call__(self, kind: str) -> Provider:
        with self._lock:
            if kind not in self._made:
                self._made[kind] = self._make(kind)
            return self._made[kind]

    def _make(self, kind: str) -> Provider:
        if kind == "docker":
            from cove.providers.docker import DockerProvider

            return DockerProvider(base_url=self._docker_host, publish_address=self._publish_address)
        if kind == "memory":
            from cove.providers.memory import MemoryProvider

            return MemoryProvider(publish_address=self._publish_address)
        raise LookupError(f"no provider of kind {kind!r} (known: docker, memory)")

    def made(self) -> list[Provider]:
        """The providers in use so far (the orphan sweep visits them)."""
        with self._lock:
            return list(self._made.values())
