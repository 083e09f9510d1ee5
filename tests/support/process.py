"""What the servers tests run as processes (cove, Keystone, Horizon) share: stopping one
(SIGTERM, then SIGKILL if it lingers) and the end of its log for a failure message."""

from __future__ import annotations

import subprocess
from pathlib import Path


class ServerProcess:
    """A mixin: the class has ``proc`` (the running process, or None) and ``log`` (its log
    file)."""

    proc: subprocess.Popen[bytes] | None
    stop_timeout: float = 15.0

    @property
    def log(self) -> Path:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
