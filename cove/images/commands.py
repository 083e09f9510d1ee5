"""Running the external commands of a build (debootstrap, docker, tar), their failures as
``ImageBuildError`` with the tail of their output."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from cove.images.errors import ImageBuildError

DEFAULT_TIMEOUT = 60.0


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""


def run_command(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion (it inherits this process's environment); raise
    ImageBuildError if it is missing, too slow or fails."""
    try:
        result = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ImageBuildError(f"{argv[0]} is not installed", command=argv) from exc
    except subprocess.TimeoutExpired as exc:
        raise ImageBuildError(
            f"{what or argv[0]} did not finish within {timeout:.0f}s",
            command=argv,
            output=tail(_text(exc.stdout) + _text(exc.stderr)),
        ) from exc
    if result.returncode != 0:
        raise ImageBuildError(
            f"{what or argv[0]} failed (exit {result.returncode}): {' '.join(argv)}",
            command=argv,
            output=tail(result.stdout + result.stderr),
        )
    return result
