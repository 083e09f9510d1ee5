"""Shapes shared by resources: JSON-patch bodies, label values, read-only guards, time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    UUID4,
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonDict

from cove import errors
from cove.api.errors import describe
from cove.domain import fields
from cove.domain.fields import INT32_MAX, LABEL_NAME_MAX, LABEL_VALUE_MAX, LABELS_MAX
from cove.domain.jsonpatch import PatchOp


def whole_number(value: Any) -> Any:
    """JSON does not tell ``3`` from ``3.0``, and JSON Schema's "integer" takes both: so does
    cove. A fraction, a boolean or a string is still refused by the strict type after it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Integers as their columns hold them (32-bit on PostgreSQL); a JSON boolean or string is
# refused (``"hard_limit": false`` is not 0). Narrow with ``Annotated[int, Field(strict=True,
# ge=.., le=..), WHOLE]``: bounds after the validator would not reach the document.
WHOLE = BeforeValidator(whole_number)
Int = Annotated[int, Field(strict=True, ge=-INT32_MAX - 1, le=INT32_MAX), WHOLE]
Count = Annotated[int, Field(strict=True, ge=0, le=INT32_MAX), WHOLE]
Positive = Annotated[int, Field(strict=True, ge=1, le=INT32_MAX), WHOLE]

# Magnum's booleans take the words too ("yes", "0", "False" …, in any case), not numbers.
TRUE_WORDS = frozenset({"1", "on", "t", "true", "y", "yes"})
FALSE_WORDS = frozenset({"0", "off", "f", "false", "n", "no"})


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in TRUE_WORDS | FALSE_WORDS:
        return value.lower() in TRUE_WORDS
    return value  # anything else but a JSON boolean is refused by the strict type


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


_WORDS_PATTERN = "^(?:" + "|".join(_any_case(w) for w in sorted(TRUE_WORDS | FALSE_WORDS)) + ")$"
Bool = Annotated[
    bool,
    Field(strict=True),
    BeforeValidator(_boolean),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _WORDS_PATTERN}]}),
]
# Names and identifiers stored in a 255-character column.
Str255 = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# Free text with no column bound (a discovery URL, a CSR): bounded all the same.
Text = Annotated[str, StringConstraints(max_length=65536)]
# A uuid a client chooses for what it creates. The document gives UUID4's canonical form as a
# pattern: its format "uuid4" is no JSON Schema format.
UUID4_PATTERN = (
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
Uuid4 = Annotated[UUID4, Field(json_schema_extra={"pattern": UUID4_PATTERN})]


def _label_value(value: Any) -> Any:
    if isinstance(value, str | int | float):  # a bool is an int
        return value
    raise ValueError("A label value is text, a number or a boolean")


# ``fields.check_label_names`` bounds a value's text, naming the label; the document says so.
LabelValue = Annotated[
    Annotated[str, Field(json_schema_extra={"maxLength": LABEL_VALUE_MAX})] | int | bool | float,
    BeforeValidator(_label_value),
]


def _labels(field: str) -> Any:
    def check(values: dict[str, Any]) -> dict[str, Any]:
        fields.check_label_names(field, values)
        return values

    return AfterValidator(check)


# What ``fields.bad_character`` refuses (C0, DEL, C1, lone surrogates), as a JSON-schema
# pattern for every free string, so the document says which text the server takes.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_MULTILINE_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
NO_CONTROLS = f"^[^{_CONTROLS}]*$"
NO_CONTROLS_MULTILINE = f"^[^{_MULTILINE_CONTROLS}]*$"


def forbid_controls(node: Any, pattern: str = NO_CONTROLS) -> None:
    """Give every string schema under ``node`` that has no pattern, enum or format of its own
    the pattern refusing control characters."""
    if isinstance(node, list):
        for item in node:
            forbid_controls(item, pattern)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & node.keys():
        node["pattern"] = pattern
    if isinstance(node.get("additionalProperties"), dict) and "propertyNames" not in node:
        # ``Strict`` refuses a control character in a key too (tabs and line breaks included).
        node["propertyNames"] = {"pattern": NO_CONTROLS}
    for key in ("anyOf", "oneOf", "allOf", "items", "additionalProperties", "propertyNames"):
        if key in node:
            forbid_controls(node[key], pattern)
    for value in (node.get("properties") or {}).values():
        forbid_controls(value, pattern)


_LABELS_SCHEMA = {
    "maxProperties": LABELS_MAX,
    "propertyNames": {
        "minLength": 1,
        "maxLength": LABEL_NAME_MAX,
        "pattern": f"^[^{_CONTROLS}]*[^\\s{_CONTROLS}][^{_CONTROLS}]*$",
    },
}
Labels = Annotated[
    dict[str, LabelValue],
    _labels("labels"),
    Field(json_schema_extra=_LABELS_SCHEMA),
]
StrLabels = Annotated[
    dict[str, Annotated[str, StringConstraints(max_length=LABEL_VALUE_MAX)]],
    _labels("labels"),
    Field(json_schema_extra=_LABELS_SCHEMA),
]
NodeLabels = Annotated[
    dict[str, Annotated[str, StringConstraints(max_length=LABEL_VALUE_MAX)]],
    _labels("node_labels"),
    Field(json_schema_extra=_LABELS_SCHEMA),
]


def _scan(field: str, data: Any, multiline: bool) -> None:
    """Refuse control characters in every string of a body, keys included, naming where."""
    if isinstance(data, str):
        fields.check_text(field, data, multiline=multiline)
    elif isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str):
                fields.check_text(field, key)
                _scan(f"{field}.{key}" if field else key, value, multiline)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _scan(f"{field}.{index}" if field else str(index), value, multiline)


class Strict(BaseModel):
    """Unknown attributes are refused, as WSME does; so is any control character (NUL above
    all, which PostgreSQL cannot store) in any string, except tabs and line breaks in the
    fields a subclass lists in ``multiline``. Fields listed in ``checked_whole`` are left to
    the domain, which checks them whole and never quotes their values (they may hold
    secrets, and this check's error quotes the value it refuses)."""

    model_config = ConfigDict(extra="forbid")
    multiline: ClassVar[frozenset[str]] = frozenset()
    checked_whole: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in (target.get("properties") or {}).items():
            multiline = name in cls.multiline
            forbid_controls(prop, NO_CONTROLS_MULTILINE if multiline else NO_CONTROLS)
        return schema

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(key, str):
                    fields.check_text("body", key)
                    if key not in cls.checked_whole:
                        _scan(key, value, key in cls.multiline)
        return data


def refuse_read_only(names: frozenset[str]) -> Any:
    @model_validator(mode="before")  # type: ignore[misc]
    @classmethod
    def check(cls: Any, data: Any) -> Any:
        if isinstance(data, dict):
            for name in sorted(names & data.keys()):
                raise errors.InvalidField(name, data[name], "Cannot set read only field.")
        return data

    return check


def _patch_value(value: Any) -> Any:
    value = whole_number(value)
    if value is None or isinstance(value, str | int):  # a bool is an int
        if isinstance(value, str) and len(value) > 65536:
            raise ValueError("A patch value has at most 65536 characters")
        return value
    raise ValueError("A patch value is text, a boolean or an integer")


# Magnum's rule, in the document: ``add`` and ``replace`` need a value (null is one).
_VALUE_NEEDED: JsonDict = {
    "if": {"properties": {"op": {"enum": ["add", "replace"]}}},
    "then": {"required": ["value"]},
}


class PatchItem(Strict):
    model_config = ConfigDict(json_schema_extra=_VALUE_NEEDED)

    op: Literal["add", "replace", "remove"]
    path: Annotated[str, Field(pattern=r"^(/[\w-]+)+$")]
    # Magnum takes text or integers; a boolean stays one, for the boolean attributes.
    value: Annotated[str | bool | int | None, BeforeValidator(_patch_value)] = None

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
