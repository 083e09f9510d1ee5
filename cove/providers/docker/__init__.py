"""The ``docker`` provider: cluster nodes as docker-in-docker containers on a Docker engine.

The only package in cove that imports the Docker SDK. Modules:

- ``provider``: ``DockerProvider``, implementing ``cove.providers.base.Provider``;
- ``errors``: ``map_docker_errors()``, SDK errors to cove's provider errors;
- ``capabilities``: detecting whether nodes run ``--privileged`` or with explicit options;
- ``networks``, ``nodes``, ``execs``: the engine calls, one concern each;
- ``records``, ``archives``: pure conversions (container inspection to ``NodeRecord``; files
  to a tar archive).
"""

from cove.providers.docker.errors import map_docker_errors
from cove.providers.docker.provider import DockerProvider

__all__ = ["DockerProvider", "map_docker_errors"]
