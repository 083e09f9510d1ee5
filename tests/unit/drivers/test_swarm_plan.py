from __future__ import annotations

import pytest

from cove.drivers.nodeplan import (
    Candidate,
    choose_victims,
    group_slug,
    node_name,
    slots_to_add,
    slug_of,
)


def test_node_names_are_stable_and_readable() -> None:
    assert node_name("1a2b3c4d-0000", group_slug("default-master", "master", True), 0) == (
        "cove-1a2b3c4d-manager-0"
    )
    assert group_slug("GPU Pool!", "worker", False) == "gpu-pool"
    assert slug_of("cove-1a2b3c4d-gpu-pool-3") == "gpu-pool"


@pytest.mark.parametrize(
    ("existing", "wanted", "added"),
    [
        ([], 3, [0, 1, 2]),
        (["c-w-0", "c-w-2"], 4, [1, 3]),
        (["c-w-0", "c-w-1"], 2, []),
        (["c-w-0", "c-w-1"], 1, []),
    ],
)
def test_scale_out_fills_the_lowest_free_slots(
    existing: list[str], wanted: int, added: list[int]
) -> None:
    assert slots_to_add(existing, wanted) == added


NODES = [
    Candidate("c-w-0", "id0", "10.0.0.2", tasks=3),
    Candidate("c-w-1", "id1", "10.0.0.3", tasks=0),
    Candidate("c-w-2", "id2", "10.0.0.4", tasks=0),
    Candidate("c-w-3", "id3", "10.0.0.5", tasks=1),
]


def test_scale_in_prefers_empty_then_newest_nodes() -> None:
    assert choose_victims(NODES, 2, []) == ["c-w-2", "c-w-1"]
    assert choose_victims(NODES, 3, []) == ["c-w-2", "c-w-1", "c-w-3"]


@pytest.mark.parametrize("ident", ["c-w-0", "id0", "10.0.0.2"])
def test_nodes_to_remove_are_honoured_by_name_id_or_address(ident: str) -> None:
    assert choose_victims(NODES, 2, [ident]) == ["c-w-0", "c-w-2"]


def test_an_unknown_node_to_remove_is_refused() -> None:
    with pytest.raises(LookupError):
        choose_victims(NODES, 1, ["nope"])
