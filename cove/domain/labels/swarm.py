"""Labels of the two Swarm COEs: legacy Swarm (``swarm``, which also takes flannel's) and Docker
swarm mode (``swarm-mode``)."""

from __future__ import annotations

from cove.domain.labels._core import LabelSpec, Schema, one_of
from cove.domain.labels.common import REXRAY_PREEMPT
from cove.domain.labels.flannel import FLANNEL

STRATEGIES = ("spread", "binpack", "random")

# Magnum split swarm_strategy on whitespace and accepted several words, which the manager's
# single --strategy flag cannot take; cove takes exactly one.
_SWARM_BOTH = Schema(
    specs=(
        LabelSpec(
            "swarm_strategy",
            "How the legacy Swarm manager places containers on nodes (swarm mode accepts the "
            "label for Magnum compatibility but has no such setting).",
            STRATEGIES,
            "spread",
            check=one_of(*STRATEGIES, what="Swarm scheduling strategy"),
        ),
        LabelSpec(
            "docker_volume_type",
            "The Cinder volume type of each node's Docker volume; unset uses the operator's "
            "default.",
        ),
        REXRAY_PREEMPT,
    )
)

SWARM = FLANNEL + _SWARM_BOTH
SWARM_MODE = _SWARM_BOTH
