"""Named, persisted steps of one operation (kopf's per-handler progress is the model).

A driver or reconciler wraps each step of an operation in ``steps.run(name, fn)``. When the
step has been done by an earlier attempt (a conductor that died or a retry after a temporary
error), ``run`` returns the data that attempt recorded instead of doing it again; otherwise it
calls ``fn``, records its outcome (the data later steps need: node names chosen, a manager
added) and returns it. Steps record decisions, so a resumed operation continues the same plan
instead of making a new one; each step still observes before it acts, since a conductor can
die in the middle of one.

Step data is visible to operators (the operation's progress): never put a secret in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

StepData = dict[str, Any]
# Persists one step's outcome (raises if the operation is no longer ours to record).
Recorder = Callable[[str, StepData], None]


class Steps:
    def __init__(self, progress: Mapping[str, Any], record: Recorder) -> None:
        self._done: dict[str, StepData] = {
            name: dict(entry.get("data") or {})
            for name, entry in progress.items()
            if isinstance(entry, dict) and entry.get("state") == "done"
        }
        self._record = record

    def done(self, name: str) -> bool:
        return name in self._done

    def data(self, name: str) -> StepData | None:
        return self._done.get(name)

    def run(self, name: str, fn: Callable[[], StepData | None]) -> StepData:
        """Do the step once per operation; its recorded data either way."""
        if name in self._done:
            return self._done[name]
        data = fn() or {}
        self._record(name, data)
        self._done[name] = data
        return data

    def mark(self, name: str, data: StepData | None = None) -> None:
        """Record a step that is done again on every attempt (it converges: observing first
        makes a repeat cheap), so progress and resume points show it."""
        if name not in self._done:
            self._record(name, data or {})
            self._done[name] = data or {}

    @property
    def names(self) -> list[str]:
        return list(self._done)


def offline(progress: Mapping[str, Any] | None = None) -> Steps:
    """Steps that record nowhere (a driver called outside the conductor, e.g. in a test)."""
    return Steps(progress or {}, lambda _name, _data: None)
