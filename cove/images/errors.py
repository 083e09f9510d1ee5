"""What an image build raises."""

from __future__ import annotations

from collections.abc import Sequence


class ImageBuildError(Exception):
    """A step of the build failed; ``output`` holds the tail of the failing command's output."""

    def __init__(self, message: str, *, command: Sequence[str] = (), output: str = "") -> None:
        self.message = message
        self.command = list(command)
        self.output = output
        text = message
        if output:
            text += "\n" + output
        super().__init__(text)


class EngineUnavailable(ImageBuildError):
    """No Docker engine answers (run scripts/docker-engine.sh)."""
