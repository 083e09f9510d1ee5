from __future__ import annotations

import pytest

from cove import errors
from cove.domain.jsonpatch import PatchOp, apply_patch

DOC = {"name": "t", "labels": {"a": "1"}, "keypair_id": None, "coe": "kubernetes"}


def op(kind: str, path: str, value: object = None) -> PatchOp:
    return PatchOp(kind, path, value, kind != "remove")


def test_replace_and_nested_add_leave_the_original_untouched() -> None:
    out = apply_patch(DOC, [op("replace", "/name", "u"), op("add", "/labels/b", "2")])
    assert out["name"] == "u" and out["labels"] == {"a": "1", "b": "2"}
    assert DOC["labels"] == {"a": "1"}


def test_labels_take_a_python_literal_string() -> None:
    out = apply_patch(DOC, [op("replace", "/labels", "{'x': 'y'}")])
    assert out["labels"] == {"x": "y"}


def test_a_bad_literal_names_the_attribute() -> None:
    with pytest.raises(errors.InvalidField, match="labels"):
        apply_patch(DOC, [op("replace", "/labels", "{'x': ")])


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (op("replace", "/uuid", "x"), "'/uuid' is an internal attribute"),
        (op("remove", "/coe"), "'/coe' is a mandatory attribute"),
        (op("add", "/bogus", "x"), "Adding a new attribute /bogus"),
        (op("add", "/name", "x"), "has existed, please use 'replace'"),
        (PatchOp("add", "/keypair_id", None, False), "needs value"),
        (op("remove", "/labels/zzz"), "non-existent object 'zzz'"),
        (op("replace", "/labels/zzz", "1"), "non-existent object 'zzz'"),
    ],
)
def test_magnums_patch_rules(patch: PatchOp, message: str) -> None:
    with pytest.raises(errors.InvalidRequest, match=message):
        apply_patch(DOC, [patch], mandatory=frozenset({"/coe"}))


def test_add_to_an_unset_attribute_and_remove_resets_it() -> None:
    out = apply_patch(DOC, [op("add", "/keypair_id", "kp"), op("remove", "/name")])
    assert out["keypair_id"] == "kp" and out["name"] is None
