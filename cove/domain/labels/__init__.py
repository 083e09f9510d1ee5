"""Per-COE label schemas and their validation, run by the API before a cluster template,
cluster or node group is stored.

Magnum checked four labels globally, whatever the COE, without trimming values, and left the
rest to fail at Heat stack creation; its DC/OS labels were never checked at all. Here each COE
has its own schema: a known label with a bad value raises ``InvalidLabel`` naming the label and,
where finite, the allowed values; labels no schema of the COE knows are accepted, as Magnum
accepts them, and returned so the CLI can warn. Values are trimmed before checking; names are
not (a padded known name is refused, since no driver would read it).

Pure logic: no I/O, no settings, no database, and no imports from cove except ``cove.errors``.
It validates; it does not rewrite labels or fill in defaults (the defaults in ``LabelSpec`` are
documentation). Drivers read booleans with ``parse_bool`` and lists as comma-separated, trimmed.
"""

from __future__ import annotations

from collections.abc import Mapping

from cove.domain.labels._core import LabelCheck, LabelSpec, Schema, parse_bool, run
from cove.domain.labels.common import COMMON
from cove.domain.labels.dcos import DCOS
from cove.domain.labels.kubernetes import KUBERNETES
from cove.domain.labels.mesos import IMAGE_PROVIDERS, ISOLATORS, MESOS
from cove.domain.labels.swarm import SWARM, SWARM_MODE

__all__ = [
    "IMAGE_PROVIDERS",
    "ISOLATORS",
    "LabelCheck",
    "LabelSpec",
    "label_specs",
    "parse_bool",
    "validate_labels",
]

_SCHEMAS: dict[str, Schema] = {
    "kubernetes": COMMON + KUBERNETES,
    "swarm": COMMON + SWARM,
    "swarm-mode": COMMON + SWARM_MODE,
    "mesos": COMMON + MESOS,
    "dcos": COMMON + DCOS,
}


def _schema(coe: str) -> Schema:
    try:
        return _SCHEMAS[coe]
    except KeyError:
        # The COE is validated before labels are; reaching this is a programming error.
        raise ValueError(f"unknown COE {coe!r}; expected one of {', '.join(_SCHEMAS)}") from None


def label_specs(coe: str) -> tuple[LabelSpec, ...]:
    """The labels `coe` knows, sorted by name. Raises ValueError for an unknown COE."""
    return tuple(sorted(_schema(coe).specs, key=lambda spec: spec.name))


def validate_labels(coe: str, labels: Mapping[str, str]) -> LabelCheck:
    """Raise InvalidLabel for the first bad label (value checks by label name, then cross-label
    rules by label name); otherwise return the names no schema of `coe` knows, sorted.
    Raises ValueError for an unknown COE."""
    return run(_schema(coe), labels)
