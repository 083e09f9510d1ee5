"""Shapes shared by resources: JSON-patch bodies, label values, read-only guards, time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cove import errors
from cove.api.errors import describe
from cove.domain.jsonpatch import PatchOp

LabelValue = str | int | bool | float
Labels = dict[str, LabelValue]


class Strict(BaseModel):
    """Unknown attributes are refused, as WSME does."""

    model_config = ConfigDict(extra="forbid")


def refuse_read_only(names: frozenset[str]) -> Any:
    @model_validator(mode="before")  # type: ignore[misc]
    @classmethod
    def check(cls: Any, data: Any) -> Any:
        if isinstance(data, dict):
            for name in sorted(names & data.keys()):
                raise errors.InvalidField(name, data[name], "Cannot set read only field.")
        return data

    return check


class PatchItem(Strict):
    op: Literal["add", "replace", "remove"]
    path: Annotated[str, Field(pattern=r"^(/[\w-]+)+$")]
    # Magnum takes text or integers (a bool passes as an integer).
    value: str | int | None = None

    def to_op(self) -> PatchOp:
        return PatchOp(self.op, self.path, self.value, "value" in self.model_fields_set)


def stringify_labels(labels: dict[str, Any] | None) -> dict[str, str]:
    """Labels are stored as strings: ``{"n": 2, "b": true}`` reads ``{"n": "2", "b": "True"}``."""
    return {str(k): str(v) for k, v in (labels or {}).items()}


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def message_for(exc: ValidationError) -> str:
    """The first error of a model validation, in WSME's words."""
    return describe(exc.errors()[0])


M = TypeVar("M", bound=BaseModel)


def revalidate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.InvalidRequest(message_for(exc)) from None
