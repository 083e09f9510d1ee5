"""Senlin's size rules for clusters (``check_size_params``) and resizes
(``parse_resize_params``), with Senlin's messages. ``max_size`` -1 means no bound below
the service's cap (``max_nodes_per_cluster``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DEFAULT_MAX_NODES = 1000


class AdjustmentType(StrEnum):
    EXACT_CAPACITY = "EXACT_CAPACITY"
    CHANGE_IN_CAPACITY = "CHANGE_IN_CAPACITY"
    CHANGE_IN_PERCENTAGE = "CHANGE_IN_PERCENTAGE"


@dataclass(frozen=True)
class Sizes:
    """A cluster's current bounds and capacity."""

    desired: int
    min_size: int
    max_size: int


def check_size_params(
    cluster: Sizes | None = None,
    desired: int | None = None,
    min_size: int | None = None,
    max_size: int | None = None,
    *,
    strict: bool = False,
    cap: int = DEFAULT_MAX_NODES,
) -> str | None:
    """The reason the new sizes do not fit together (or the cluster), or None."""
    if desired is not None:
        if desired > cap:
            return (
                f"The target capacity ({desired}) is greater than the maximum number of "
                f"nodes allowed per cluster ({cap})."
            )
        if min_size is not None and desired < min_size:
            return (
                f"The target capacity ({desired}) is less than the specified min_size ({min_size})."
            )
        if min_size is None and cluster is not None and desired < cluster.min_size and strict:
            return (
                f"The target capacity ({desired}) is less than the cluster's min_size "
                f"({cluster.min_size})."
            )
        if max_size is not None and max_size >= 0 and desired > max_size:
            return (
                f"The target capacity ({desired}) is greater than the specified max_size "
                f"({max_size})."
            )
        if (
            max_size is None
            and cluster is not None
            and cluster.max_size >= 0
            and desired > cluster.max_size
            and strict
        ):
            return (
                f"The target capacity ({desired}) is greater than the cluster's max_size "
                f"({cluster.max_size})."
            )
    if min_size is not None:
        if max_size is not None and max_size >= 0 and min_size > max_size:
            return (
                f"The specified min_size ({min_size}) is greater than the specified "
                f"max_size ({max_size})."
            )
        if (
            max_size is None
            and cluster is not None
            and cluster.max_size >= 0
            and min_size > cluster.max_size
        ):
            return (
                f"The specified min_size ({min_size}) is greater than the current max_size "
                f"({cluster.max_size}) of the cluster."
            )
        if desired is None and cluster is not None and min_size > cluster.desired and strict:
            return (
                f"The specified min_size ({min_size}) is greater than the current "
                f"desired_capacity ({cluster.desired}) of the cluster."
            )
    if max_size is not None:
        if max_size > cap:
            return (
                f"The specified max_size ({max_size}) is greater than the maximum number of "
                f"nodes allowed per cluster ({cap})."
            )
        if min_size is None and cluster is not None and 0 <= max_size < cluster.min_size:
            return (
                f"The specified max_size ({max_size}) is less than the current min_size "
                f"({cluster.min_size}) of the cluster."
            )
        if desired is None and cluster is not None and 0 <= max_size < cluster.desired and strict:
            return (
                f"The specified max_size ({max_size}) is less than the current "
                f"desired_capacity ({cluster.desired}) of the cluster."
            )
    return None


def calculate_desired(
    current: int, adjustment: AdjustmentType, number: float, min_step: int | None
) -> int:
    """The new capacity; a percentage rounds away from zero below one node, towards zero
    above, and moves at least ``min_step`` nodes."""
    if adjustment is AdjustmentType.EXACT_CAPACITY:
        return int(number)
    if adjustment is AdjustmentType.CHANGE_IN_CAPACITY:
        return current + int(number)
    delta = number * current / 100.0
    if delta > 0:
        rounded = int(math.ceil(delta) if abs(delta) < 1 else math.floor(delta))
    else:
        rounded = int(math.floor(delta) if abs(delta) < 1 else math.ceil(delta))
    if min_step is not None and min_step > abs(rounded):
        return current + (min_step if rounded > 0 else -min_step)
    return current + rounded


def truncate_desired(
    cluster: Sizes, desired: int, min_size: int | None, max_size: int | None
) -> int:
    """Non-strict resizes clamp the new capacity to the (new or current) bounds."""
    low = min_size if min_size is not None else cluster.min_size
    if desired < low:
        desired = low
    high = max_size if max_size is not None else cluster.max_size
    if high > 0 and desired > high:
        desired = high
    return desired


@dataclass(frozen=True)
class Resize:
    """What a resize asks (an action's inputs)."""

    adjustment_type: AdjustmentType | None = None
    number: float | None = None
    min_size: int | None = None
    max_size: int | None = None
    min_step: int | None = None
    strict: bool = False

    @classmethod
    def of(cls, inputs: Mapping[str, Any]) -> Resize:
        """From a resize request's body or its action's inputs (Senlin's default: strict)."""
        kind = inputs.get("adjustment_type")
        return cls(
            adjustment_type=AdjustmentType(kind) if kind is not None else None,
            number=inputs.get("number"),
            min_size=inputs.get("min_size"),
            max_size=inputs.get("max_size"),
            min_step=inputs.get("min_step"),
            strict=bool(inputs.get("strict", True)),
        )


@dataclass(frozen=True)
class ResizePlan:
    desired: int
    min_size: int
    max_size: int


def parse_resize(cluster: Sizes, resize: Resize, *, cap: int = DEFAULT_MAX_NODES) -> ResizePlan:
    """The cluster's sizes after ``resize``; raises ``ValueError`` with Senlin's message."""
    if resize.adjustment_type is not None and resize.number is None:
        raise ValueError("Missing number value for size adjustment.")
    if resize.number is not None and resize.adjustment_type is None:
        raise ValueError("Missing adjustment_type value for size adjustment.")
    if resize.adjustment_type is AdjustmentType.EXACT_CAPACITY and (
        resize.number is not None and (resize.number < 0 or resize.number != int(resize.number))
    ):
        raise ValueError(
            "The 'number' must be a non-negative integer for adjustment type "
            f"'{resize.adjustment_type}'."
        )
    if resize.adjustment_type is AdjustmentType.CHANGE_IN_CAPACITY and (
        resize.number is not None and resize.number != int(resize.number)
    ):
        raise ValueError(
            f"The 'number' must be an integer for adjustment type '{resize.adjustment_type}'."
        )
    if resize.min_step is not None and resize.min_step < 0:
        raise ValueError("The 'min_step' must be a non-negative integer.")
    desired: int | None = None
    if resize.adjustment_type is not None and resize.number is not None:
        desired = calculate_desired(
            cluster.desired, resize.adjustment_type, resize.number, resize.min_step
        )
        if not resize.strict:
            desired = truncate_desired(cluster, desired, resize.min_size, resize.max_size)
    message = check_size_params(
        cluster, desired, resize.min_size, resize.max_size, strict=resize.strict, cap=cap
    )
    if message is not None:
        raise ValueError(message)
    new_desired = cluster.desired if desired is None else desired
    min_size = cluster.min_size if resize.min_size is None else resize.min_size
    max_size = cluster.max_size if resize.max_size is None else resize.max_size
    # A new range alone moves the capacity into it (Senlin does the same at execution).
    if desired is None:
        new_desired = max(new_desired, min_size)
        if max_size >= 0:
            new_desired = min(new_desired, max_size)
    return ResizePlan(new_desired, min_size, max_size)
