"""COEs, server types and the networking and storage options each COE accepts (Magnum's
user-guide matrix and its per-COE validators)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Coe(StrEnum):
    KUBERNETES = "kubernetes"
    SWARM = "swarm"
    SWARM_MODE = "swarm-mode"
    MESOS = "mesos"
    DCOS = "dcos"


class ServerType(StrEnum):
    VM = "vm"
    BM = "bm"


@dataclass(frozen=True)
class CoeOptions:
    network_drivers: tuple[str, ...]
    default_network_driver: str
    volume_drivers: tuple[str, ...]
    # Largest sensible manager count: Raft-based COEs want an odd quorum.
    odd_masters: bool


OPTIONS: dict[Coe, CoeOptions] = {
    Coe.KUBERNETES: CoeOptions(("flannel", "calico"), "flannel", ("cinder",), odd_masters=True),
    Coe.SWARM: CoeOptions(("docker", "flannel"), "docker", ("rexray",), odd_masters=False),
    Coe.SWARM_MODE: CoeOptions(("docker",), "docker", ("rexray",), odd_masters=True),
    Coe.MESOS: CoeOptions(("docker",), "docker", ("rexray",), odd_masters=True),
    Coe.DCOS: CoeOptions(("docker",), "docker", ("rexray",), odd_masters=True),
}

# docker_storage_driver values the Docker engine knows. Magnum took any string; a typo then
# failed deep inside a node's boot. cove names the allowed ones up front.
STORAGE_DRIVERS = ("overlay2", "overlay", "devicemapper", "btrfs", "zfs", "vfs", "fuse-overlayfs")

MAX_MASTERS = 7
MAX_NODES = 1000
