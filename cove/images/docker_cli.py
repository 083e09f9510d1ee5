"""The ``docker`` CLI aimed at one engine (cove's own: ``Settings.docker_host``, never the
caller's ``DOCKER_HOST``). Only the CLI is used by the image builder: the Docker SDK belongs
to ``cove.providers.docker``."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cove.images.commands import DEFAULT_TIMEOUT, tail
from cove.images.errors import EngineUnavailable, ImageBuildError
from cove.providers.engine_address import cli_env

IMPORT_TIMEOUT = 900.0
NO_ENGINE = "no Docker engine answers: run scripts/docker-engine.sh"
NO_CLIENT = "the docker client is not installed: run scripts/docker-engine.sh"


def _engine_error(stderr: str) -> bool:
    return "Cannot connect to the Docker daemon" in stderr or "Is the docker daemon" in stderr


class DockerCli:
    def __init__(self, docker_host: str) -> None:
        self.docker_host = docker_host

    def _env(self) -> dict[str, str]:
        return cli_env(self.docker_host)

    def _call(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                timeout=DEFAULT_TIMEOUT,
                check=False,
                env=self._env(),
            )
        except FileNotFoundError as exc:
            raise EngineUnavailable(NO_CLIENT, command=argv) from exc

    def engine_version(self) -> str:
        """The engine's version; raises EngineUnavailable if no engine answers."""
        argv = ["docker", "version", "--format", "{{.Server.Version}}"]
        try:
            result = self._call(argv)
        except subprocess.TimeoutExpired as exc:
            raise EngineUnavailable("the Docker engine did not answer", command=argv) from exc
        if result.returncode != 0 or not result.stdout.strip():
            raise EngineUnavailable(NO_ENGINE, command=argv, output=tail(result.stderr))
        return result.stdout.strip()

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """``docker image inspect`` of ``ref``, or None when there is no such image."""
        argv = ["docker", "image", "inspect", ref]
        result = self._call(argv)
        if result.returncode == 0:
            data = json.loads(result.stdout)
            return data[0] if data else None
        if "No such image" in result.stderr or "No such object" in result.stderr:
            return None
        if _engine_error(result.stderr):
            raise EngineUnavailable(NO_ENGINE, command=argv, output=tail(result.stderr))
        raise ImageBuildError(
            f"docker image inspect {ref} failed", command=argv, output=tail(result.stderr)
        )

    def remove_image(self, ref: str) -> None:
        """Best effort: an image still in use stays."""
        subprocess.run(
            ["docker", "image", "rm", ref],
            capture_output=True,
            env=self._env(),
            timeout=DEFAULT_TIMEOUT,
            check=False,
        )

    def import_tree(self, rootfs: Path, ref: str, changes: Sequence[str], message: str) -> None:
        """``tar`` of ``rootfs`` piped into ``docker import`` as ``ref`` with Dockerfile
        ``changes``; a failed tar removes the tag (the engine may have taken a truncated
        stream)."""
        import_argv = ["docker", "import"]
        for change in changes:
            import_argv += ["--change", change]
        import_argv += ["--message", message, "-", ref]
        tar_argv = ["tar", "--numeric-owner", "--xattrs", "-c", "-C", str(rootfs), "."]
        with tempfile.TemporaryFile() as tar_stderr:
            tar = subprocess.Popen(tar_argv, stdout=subprocess.PIPE, stderr=tar_stderr)
            assert tar.stdout is not None
            try:
                result = subprocess.run(
                    import_argv,
                    env=self._env(),
                    stdin=tar.stdout,
                    capture_output=True,
                    text=True,
                    timeout=IMPORT_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                tar.kill()
                tar.wait()
                raise ImageBuildError(
                    f"docker import did not finish within {IMPORT_TIMEOUT:.0f}s",
                    command=import_argv,
                ) from exc
            finally:
                tar.stdout.close()  # our copy: tar sees a broken pipe if docker import stopped
            try:
                tar_code = tar.wait(timeout=DEFAULT_TIMEOUT)
            except subprocess.TimeoutExpired:
                tar.kill()
                tar_code = tar.wait()
            tar_stderr.seek(0)
            tar_err = tar_stderr.read().decode(errors="replace")
        if result.returncode != 0:
            if _engine_error(result.stderr):
                raise EngineUnavailable(NO_ENGINE, command=import_argv, output=tail(result.stderr))
            raise ImageBuildError(
                f"docker import failed (exit {result.returncode})",
                command=import_argv,
                output=tail(result.stdout + result.stderr),
            )
        if tar_code != 0:
            self.remove_image(ref)
            raise ImageBuildError(
                f"tar of {rootfs} failed (exit {tar_code})", command=tar_argv, output=tail(tar_err)
            )
