"""How a failed step is classified, once for the whole conductor: every exception that leaves
a driver, a provider or a reconciler is either

- ``Permanent``: retrying cannot help; the operation fails now, its message the reason a
  user reads (``status_reason``) and can act on;
- ``Temporary``: the world may change (an engine restarting, a node still booting); the
  operation is retried with backoff (or after ``delay``) until its deadline. ``Pause`` is the
  temporary that is no error: a wait the user asked for.

Exceptions of neither kind are bugs or surprises: the runner treats them as temporary and logs
them with their traceback, so a deadline still ends them.
"""

from __future__ import annotations


class Permanent(Exception):
    """Retrying cannot help; ``str(self)`` is the reason a user can act on."""


class Temporary(Exception):
    """Worth retrying; ``delay`` (seconds) overrides the runner's backoff when given."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class Pause(Temporary):
    """Not a failure: the operation waits ``delay`` seconds on purpose (a batch policy's
    pause between batches), then goes on from its recorded steps."""

    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason, delay)


def is_permanent(exc: BaseException) -> bool:
    """Temporary wins where a class is both (a provider's "unavailable" is a provider error)."""
    return isinstance(exc, Permanent) and not isinstance(exc, Temporary)
