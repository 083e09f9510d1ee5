"""The swarm-mode driver: (vm, debian, swarm-mode) clusters of docker-in-docker nodes."""

from cove.drivers.swarm_mode.driver import SwarmModeDriver

__all__ = ["SwarmModeDriver"]
