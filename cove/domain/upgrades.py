"""Upgrade guard: a cluster moves only forward. Versions are compared from the labels
ending in ``_tag`` or ``_version`` (Magnum's rule) and from the node image's ``version``
property; values that do not parse as versions are not compared."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cove import errors

_NUMBERS = re.compile(r"\d+")


def _version(value: Any) -> tuple[int, ...] | None:
    text = str(value).strip().lstrip("vV")
    if not text or not text[0].isdigit():
        return None
    parts = _NUMBERS.findall(text.split("-")[0].split("+")[0])
    return tuple(int(p) for p in parts) if parts else None


def check_upgrade(
    old_labels: Mapping[str, Any],
    new_labels: Mapping[str, Any],
    old_image: Mapping[str, Any],
    new_image: Mapping[str, Any],
) -> None:
    pairs = [
        (f"labels.{k}", old_labels[k], new_labels[k])
        for k in sorted(old_labels)
        if k.endswith(("_tag", "_version")) and k in new_labels
    ]
    if "version" in old_image and "version" in new_image:
        pairs.append(("image version", old_image["version"], new_image["version"]))
    for what, old, new in pairs:
        before, after = _version(old), _version(new)
        if before is not None and after is not None and after < before:
            raise errors.InvalidRequest(
                f"Downgrade refused: {what} would go from {old} to {new}. "
                "Create a new cluster to run an older version."
            )
