# ruff: noqa: E501  (tables of messages read best one case a line)
from __future__ import annotations

import pytest

from cove.domain.clustering.sizes import (
    AdjustmentType as A,
)
from cove.domain.clustering.sizes import (
    Resize,
    ResizePlan,
    Sizes,
    calculate_desired,
    check_size_params,
    parse_resize,
)

C = Sizes(desired=3, min_size=1, max_size=5)


@pytest.mark.parametrize(
    ("cluster", "desired", "low", "high", "strict", "message"),
    [
        (None, 2, 0, -1, True, None),
        (None, 2, 3, None, True, "The target capacity (2) is less than the specified min_size (3)."),
        (None, 6, None, 5, True, "The target capacity (6) is greater than the specified max_size (5)."),
        (None, 1001, None, None, True, "The target capacity (1001) is greater than the maximum number of nodes allowed per cluster (1000)."),
        (None, None, 4, 2, True, "The specified min_size (4) is greater than the specified max_size (2)."),
        (None, None, None, 1001, True, "The specified max_size (1001) is greater than the maximum number of nodes allowed per cluster (1000)."),
        (C, 0, None, None, True, "The target capacity (0) is less than the cluster's min_size (1)."),
        (C, 0, None, None, False, None),
        (C, 6, None, None, True, "The target capacity (6) is greater than the cluster's max_size (5)."),
        (C, None, 6, None, True, "The specified min_size (6) is greater than the current max_size (5) of the cluster."),
        (C, None, 4, 10, True, "The specified min_size (4) is greater than the current desired_capacity (3) of the cluster."),
        (C, None, None, 0, True, "The specified max_size (0) is less than the current min_size (1) of the cluster."),
        (C, None, 0, 2, True, "The specified max_size (2) is less than the current desired_capacity (3) of the cluster."),
        (C, None, 0, 2, False, None),
        (C, 100, None, -1, True, None),
    ],
)  # fmt: skip
def test_check_size_params(
    cluster: Sizes | None, desired: int | None, low: int | None, high: int | None,
    strict: bool, message: str | None,
) -> None:  # fmt: skip
    assert check_size_params(cluster, desired, low, high, strict=strict) == message


def test_the_cap_is_the_services() -> None:
    assert check_size_params(None, 11, cap=10) is not None
    assert check_size_params(None, 10, cap=10) is None


@pytest.mark.parametrize(
    ("current", "kind", "number", "min_step", "desired"),
    [
        (3, A.EXACT_CAPACITY, 5, None, 5),
        (3, A.CHANGE_IN_CAPACITY, -2, None, 1),
        (10, A.CHANGE_IN_PERCENTAGE, 25, None, 12),  # 2.5 floors to 2
        (10, A.CHANGE_IN_PERCENTAGE, -25, None, 8),  # -2.5 ceils to -2
        (3, A.CHANGE_IN_PERCENTAGE, 10, None, 4),  # 0.3 ceils to 1
        (3, A.CHANGE_IN_PERCENTAGE, -10, None, 2),  # -0.3 floors to -1
        (10, A.CHANGE_IN_PERCENTAGE, 10, 3, 13),  # at least min_step
        (10, A.CHANGE_IN_PERCENTAGE, -10, 3, 7),
    ],
)
def test_calculate_desired(
    current: int, kind: A, number: float, min_step: int | None, desired: int
) -> None:
    assert calculate_desired(current, kind, number, min_step) == desired


@pytest.mark.parametrize(
    ("resize", "plan"),
    [
        (Resize(A.EXACT_CAPACITY, 4), ResizePlan(4, 1, 5)),
        (Resize(A.EXACT_CAPACITY, 9), ResizePlan(5, 1, 5)),  # clamped: not strict
        (Resize(A.CHANGE_IN_CAPACITY, -5), ResizePlan(1, 1, 5)),
        (Resize(min_size=4, max_size=8), ResizePlan(4, 4, 8)),
        (Resize(max_size=-1), ResizePlan(3, 1, -1)),
        (Resize(A.EXACT_CAPACITY, 8, max_size=10, strict=True), ResizePlan(8, 1, 10)),
    ],
)
def test_parse_resize(resize: Resize, plan: ResizePlan) -> None:
    assert parse_resize(C, resize) == plan


@pytest.mark.parametrize(
    ("resize", "message"),
    [
        (Resize(A.EXACT_CAPACITY, 9, strict=True), "The target capacity (9) is greater than the cluster's max_size (5)."),
        (Resize(A.EXACT_CAPACITY), "Missing number value for size adjustment."),
        (Resize(number=3), "Missing adjustment_type value for size adjustment."),
        (Resize(A.EXACT_CAPACITY, -1), "The 'number' must be a non-negative integer for adjustment type 'EXACT_CAPACITY'."),
        (Resize(A.CHANGE_IN_CAPACITY, 1.5), "The 'number' must be an integer for adjustment type 'CHANGE_IN_CAPACITY'."),
        (Resize(min_size=3, max_size=2), "The specified min_size (3) is greater than the specified max_size (2)."),
    ],
)  # fmt: skip
def test_parse_resize_refuses(resize: Resize, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_resize(C, resize)
    assert str(err.value) == message
