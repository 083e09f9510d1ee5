"""Which Docker engine cove itself uses, for nodes and for building the node image:
``Settings.docker_host`` (``COVE_DOCKER_HOST``), by default the local socket.

Never the ``DOCKER_*`` variables of the caller's shell: after ``eval "$(cove up)"`` they point
at a cluster, and cove would build its image and start nodes inside that cluster.
"""

from __future__ import annotations

import os

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
CLIENT_VARIABLES = ("DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT")


def cli_env(docker_host: str) -> dict[str, str]:
    """The environment for a ``docker`` CLI command aimed at ``docker_host``: this process's
    whole environment is passed on on purpose (PATH, HOME, proxies, locale for the child),
    without the caller's Docker client variables, with DOCKER_HOST set to cove's engine."""
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_VARIABLES}
    env["DOCKER_HOST"] = docker_host
    return env
