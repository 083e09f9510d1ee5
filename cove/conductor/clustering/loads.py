"""Load samples of the host clusters in use, kept between actions.

A node's load needs the engines' stats, and a Docker engine answers a stats call at the next
tick of its one-second collector: sampled inside an action, every placement would wait about
a second. So placement reads the sample kept here when it is younger than ``FRESH``, and a
conductor thread takes a new one every ``REFRESH`` seconds for each host placed on within
``IDLE``. Containers placed since the sample are charged by the placer; members already
running show in the next one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cove.drivers.containerhost import NodeLoad

log = logging.getLogger(__name__)

FRESH = 10.0  # seconds: placement uses a kept sample this young
REFRESH = 5.0  # seconds between background samples of a host in use
IDLE = 600.0  # seconds without placement after which a host is no longer sampled


class Sampled(Protocol):
    """The part of a ``ContainerHost`` sampled here."""

    def loads(self) -> dict[str, NodeLoad]: ...


@dataclass
class _Kept:
    host: Sampled
    used: float
    loads: dict[str, NodeLoad] | None = None
    at: float = float("-inf")


class HostLoads:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._kept: dict[int, _Kept] = {}  # id(host) -> its latest sample
        self._lock = threading.Lock()

    def of(self, host: Sampled) -> dict[str, NodeLoad]:
        """The host's loads: the kept sample when fresh, else one taken now."""
        now = self.clock()
        with self._lock:
            kept = self._kept.get(id(host))
            if kept is None or kept.host is not host:
                kept = self._kept[id(host)] = _Kept(host, now)
            kept.used = now
            if kept.loads is not None and now - kept.at < FRESH:
                return kept.loads
        return self._sample(kept)

    def refresh(self) -> int:
        """Sample each host in use whose sample is older than ``REFRESH``; forget hosts
        idle for ``IDLE``. Returns how many were sampled."""
        now = self.clock()
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if now - v.used < IDLE}
            due = [v for v in self._kept.values() if now - v.at >= REFRESH]
        sampled = 0
        for kept in due:
            try:
                self._sample(kept)
                sampled += 1
            except Exception:  # placement samples again and reports it
                log.debug("load sample failed", exc_info=True)
        return sampled

    def _sample(self, kept: _Kept) -> dict[str, NodeLoad]:
        loads = kept.host.loads()
        with self._lock:
            kept.loads, kept.at = loads, self.clock()
        return loads
