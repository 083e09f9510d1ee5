"""A small spec schema, after Senlin's (``senlin/common/schema.py``): typed properties with
defaults, required flags and allowed values, rendered for ``profile-types``/``policy-types``
and used to validate specs. Errors name the property path (``properties.ports[0].protocol``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cove.domain import fields
from cove.domain.clustering.errors import InvalidSpec

_NO_DEFAULT = object()


@dataclass(frozen=True)
class Prop:
    """One property. ``kind``: String, Integer, Number, Boolean, Map, List.
    ``schema``: a Map's properties (None: any keys; ``values`` then types its values), or a
    List's item. ``allowed``: the values a String may take. ``minimum``: for numbers."""

    kind: str
    description: str = ""
    required: bool = False
    default: Any = _NO_DEFAULT
    updatable: bool = False
    allowed: tuple[Any, ...] | None = None
    minimum: float | None = None
    exclusive_minimum: bool = False
    schema: Mapping[str, Prop] | Prop | None = None
    values: Prop | None = None
    any_of: tuple[str, ...] = field(default=())  # extra kinds accepted (str or list)

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.kind,
            "description": self.description,
            "required": self.required,
            "updatable": self.updatable,
        }
        if self.default is not _NO_DEFAULT:
            out["default"] = self.default
        if self.allowed is not None:
            out["constraints"] = [{"constraint": list(self.allowed), "type": "AllowedValues"}]
        if self.minimum is not None:
            out.setdefault("constraints", []).append({"min": self.minimum, "type": "Range"})
        if isinstance(self.schema, Prop):
            out["schema"] = {"*": self.schema.render()}
        elif self.schema is not None:
            out["schema"] = {k: v.render() for k, v in self.schema.items()}
        elif self.values is not None:
            out["schema"] = {"*": self.values.render()}
        return out


def render(props: Mapping[str, Prop]) -> dict[str, Any]:
    return {name: prop.render() for name, prop in props.items()}


def _bad(path: str, value: Any, what: str) -> InvalidSpec:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:60] + "..."
    return InvalidSpec(f"The value {shown} of '{path}' is not a valid {what}.")


def _text(path: str, value: str) -> str:
    char = fields.bad_character(value)
    if char is not None:
        raise InvalidSpec(
            f"The value of '{path}' holds the control character "
            f"{fields.describe_character(char)}, which is not allowed."
        )
    return value


def check(prop: Prop, value: Any, path: str) -> Any:
    """``value`` converted to ``prop``'s type, or InvalidSpec naming ``path``."""
    kind = prop.kind
    if "String" in prop.any_of and isinstance(value, str):
        return _text(path, value)
    if kind == "String":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad(path, value, "string")
        value = _text(path, str(value))
    elif kind == "Integer":
        if isinstance(value, bool):
            raise _bad(path, value, "integer")
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise _bad(path, value, "integer") from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise _bad(path, value, "integer")
        if not -(2**31) <= value < 2**31:
            raise InvalidSpec(f"The value of '{path}' ({value}) is out of range.")
    elif kind == "Number":
        if isinstance(value, bool):
            raise _bad(path, value, "number")
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise _bad(path, value, "number") from None
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise _bad(path, value, "number")
    elif kind == "Boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise _bad(path, value, "boolean")
    elif kind == "Map":
        if not isinstance(value, Mapping):
            raise _bad(path, value, "map")
        if isinstance(prop.schema, Mapping):
            value = check_props(prop.schema, value, path)
        else:
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _bad(path, key, "key")
                _text(f"{path}.{key}", key)
                out[key] = check(prop.values, item, f"{path}.{key}") if prop.values else item
            value = out
    elif kind == "List":
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise _bad(path, value, "list")
        item = prop.schema if isinstance(prop.schema, Prop) else None
        value = [check(item, v, f"{path}[{i}]") if item else v for i, v in enumerate(value)]
    if prop.allowed is not None and value not in prop.allowed:
        allowed = ", ".join(str(a) for a in prop.allowed)
        raise InvalidSpec(f"The value '{value}' of '{path}' is not one of: {allowed}.")
    if prop.minimum is not None:
        low = prop.minimum
        if value < low or (prop.exclusive_minimum and value == low):
            relation = "greater than" if prop.exclusive_minimum else "at least"
            raise InvalidSpec(f"The value of '{path}' ({value}) must be {relation} {low:g}.")
    return value


def check_props(props: Mapping[str, Prop], data: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A map of properties: unknown ones refused, required ones present, defaults filled."""
    for key in data:
        if key not in props:
            where = f"{path}.{key}" if path else str(key)
            raise InvalidSpec(f"Unrecognizable spec item '{where}'.")
    out: dict[str, Any] = {}
    for name, prop in props.items():
        where = f"{path}.{name}" if path else name
        if name not in data or data[name] is None:
            if prop.required:
                raise InvalidSpec(f"Required spec item '{where}' not provided.")
            if prop.default is not _NO_DEFAULT:
                out[name] = prop.default
            continue
        out[name] = check(prop, data[name], where)
    return out


@dataclass(frozen=True)
class SpecType:
    """A profile or policy type at one version."""

    name: str
    version: str
    properties: Mapping[str, Prop]
    support_status: tuple[tuple[str, str], ...] = (("SUPPORTED", "2016.04"),)

    @property
    def full_name(self) -> str:
        return f"{self.name}-{self.version}"

    def status(self) -> dict[str, list[dict[str, str]]]:
        return {self.version: [{"status": s, "since": since} for s, since in self.support_status]}


def parse_spec(
    spec: Any, types: Mapping[str, SpecType], kind: str
) -> tuple[SpecType, dict[str, Any]]:
    """``{type, version, properties}`` checked against the known types; the properties
    come back normalised (defaults filled)."""
    if not isinstance(spec, Mapping):
        raise InvalidSpec("The spec must be a map with 'type', 'version' and 'properties'.")
    for key in spec:
        if key not in ("type", "version", "properties", "description"):
            raise InvalidSpec(f"Unrecognizable spec item '{key}'.")
    name, version = spec.get("type"), spec.get("version")
    if not isinstance(name, str) or not name:
        raise InvalidSpec("Required spec item 'type' not provided.")
    if version is None or isinstance(version, bool):
        raise InvalidSpec("Required spec item 'version' not provided.")
    version = str(version)
    found = types.get(f"{name}-{version}")
    if found is None:
        known = ", ".join(sorted(types))
        raise InvalidSpec(
            f"The specified {kind} type ({_text('type', name)}-{_text('version', version)}) "
            f"is not found. Known {kind} types: {known}."
        )
    properties = spec.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, Mapping):
        raise _bad("properties", properties, "map")
    return found, check_props(found.properties, properties, "properties")
