"""Which Docker engine cove itself uses, for nodes and for building the node image:
``COVE_DOCKER_HOST``, by default the local socket.

Never the ``DOCKER_*`` variables of the caller's shell: after ``eval "$(cove up)"`` they point
at a cluster, and cove would build its image and start nodes inside that cluster.
"""

from __future__ import annotations

import os

DEFAULT = "unix:///var/run/docker.sock"
VARIABLE = "COVE_DOCKER_HOST"
CLIENT_VARIABLES = ("DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT")


def engine_url() -> str:
    return os.environ.get(VARIABLE) or DEFAULT


def cli_env() -> dict[str, str]:
    """The environment for a ``docker`` CLI command aimed at cove's engine."""
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_VARIABLES}
    env["DOCKER_HOST"] = engine_url()
    return env
