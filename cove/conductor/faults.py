"""Fault injection for crash tests: die like a conductor killed with SIGKILL, at an exact
point (right after a named step is recorded), so tests can prove that every step resumes."""

from __future__ import annotations

import fnmatch
import logging
import os
import signal
from collections.abc import Callable

log = logging.getLogger(__name__)


def kill_after_step(pattern: str) -> Callable[[str], None] | None:
    """A step hook that SIGKILLs this process after a step matching ``pattern``; None when
    the pattern is empty."""
    if not pattern:
        return None

    def hook(step: str) -> None:
        if fnmatch.fnmatchcase(step, pattern):
            log.warning("fault injection: killing this conductor after step %s", step)
            os.kill(os.getpid(), signal.SIGKILL)

    return hook
