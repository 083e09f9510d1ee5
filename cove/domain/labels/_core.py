"""Building blocks of the label schemas: the public value types, the boolean parser, reusable
value checks, and the engine that runs one COE's schema over a label dict.

Pure logic. It must not do I/O, read settings, or import anything from cove except
``cove.errors``; callers decide what to do with the result.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cove.errors import InvalidLabel


class Refused(Exception):
    """Raised by a check or rule: why the value is refused, and the allowed values when finite.
    The engine turns it into ``InvalidLabel`` for the label the check belongs to."""

    def __init__(self, reason: str, allowed: Iterable[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.allowed = tuple(allowed) if allowed is not None else None


# A check sees one label's trimmed value and raises Refused if it is bad.
Check = Callable[[str], None]
# A rule relates labels to each other. It runs for its owning label (only when that label is
# given) with the owner's trimmed value and all trimmed labels, after every value check passed.
Rule = Callable[[str, Mapping[str, str]], None]


@dataclass(frozen=True)
class LabelSpec:
    name: str
    description: str
    allowed: tuple[str, ...] | None = None
    default: str | None = None
    check: Check | None = field(default=None, compare=False, repr=False)
    # A comma-separated list: `allowed` then applies to each item.
    is_list: bool = False
    # Never echo the value back in an error (credentials).
    secret: bool = False


@dataclass(frozen=True)
class LabelCheck:
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    specs: tuple[LabelSpec, ...] = ()
    rules: tuple[tuple[str, Rule], ...] = ()

    def __add__(self, other: Schema) -> Schema:
        return Schema(self.specs + other.specs, self.rules + other.rules)


def run(schema: Schema, labels: Mapping[str, str]) -> LabelCheck:
    """Check every label in name order, then every cross-label rule in owner-name order, so the
    same input always reports the same first error. Value errors come before relation errors."""
    specs = {spec.name: spec for spec in schema.specs}
    values = {name: value.strip() for name, value in labels.items()}

    def invalid(name: str, err: Refused) -> InvalidLabel:
        spec = specs.get(name)
        shown = "(hidden)" if spec is not None and spec.secret else labels[name]
        return InvalidLabel(name, shown, err.reason, err.allowed)

    for name in sorted(values):
        spec = specs.get(name)
        try:
            if spec is None:
                _check_name(name, specs)
            elif spec.check is not None:
                spec.check(values[name])
        except Refused as err:
            raise invalid(name, err) from None
    for owner, rule in sorted(schema.rules, key=lambda item: item[0]):
        if owner in values:
            try:
                rule(values[owner], values)
            except Refused as err:
                raise invalid(owner, err) from None
    return LabelCheck(tuple(sorted(name for name in labels if name not in specs)))


def _check_name(name: str, specs: Mapping[str, LabelSpec]) -> None:
    # Values are trimmed, names are not: drivers look labels up by exact name, so " launcher"
    # would be stored and then silently ignored. Unknown names stay accepted, as in Magnum.
    if name != name.strip() and name.strip() in specs:
        raise Refused(
            f"The label name has surrounding whitespace, so no driver would read it. "
            f"Use {name.strip()!r} as the name."
        )


# --- booleans ----------------------------------------------------------------------------------

_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})
BOOL_ALLOWED = ("true", "false")


def parse_bool(value: str) -> bool:
    """Magnum's (oslo's strict) boolean strings, any case, surrounding whitespace ignored."""
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean; use true or false")


def boolean(value: str) -> None:
    try:
        parse_bool(value)
    except ValueError:
        raise Refused(
            f"{_shown(value)} is not a boolean. Use true or false "
            "(yes/no, on/off, 1/0 are accepted too)",
            BOOL_ALLOWED,
        ) from None


# --- enumerations and lists --------------------------------------------------------------------


def _shown(value: str) -> str:
    return "The empty value" if value == "" else repr(value)


def not_one_of(value: str, choices: Sequence[str], what: str = "value") -> Refused:
    """The refusal for a value outside a finite set, with a suggestion when one is close."""
    listed = tuple(choice for choice in choices if choice != "")
    reason = f"{_shown(value)} is not a known {what}"
    close = [c for c in listed if c.lower() == value.lower()] or difflib.get_close_matches(
        value, listed, n=1
    )
    # A statement rather than a question: InvalidLabel appends ". Allowed values: ...".
    reason += f"; the closest is {close[0]!r}." if value and close else "."
    if "" in choices:
        reason += " Leave the value empty for none."
    return Refused(reason, listed)


def one_of(*choices: str, what: str = "value") -> Check:
    """Exactly one of `choices`; include "" among them to accept the empty value."""

    def check(value: str) -> None:
        if value not in choices:
            raise not_one_of(value, choices, what)

    return check


def split_list(value: str) -> list[str]:
    """Comma-separated items, each trimmed; empty items are dropped, as Mesos' tokenizer does."""
    return [item.strip() for item in value.split(",") if item.strip()]


# --- numbers, networks, paths, JSON ------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,18}")


def integer(minimum: int = 0, maximum: int | None = None) -> Check:
    def check(value: str) -> None:
        parse_int(value, minimum, maximum)

    return check


def parse_int(value: str, minimum: int = 0, maximum: int | None = None) -> int:
    # ASCII digits only: int() would also take "+5", "1_000" and non-Latin digits.
    if not _DIGITS.fullmatch(value):
        raise Refused(f"{_shown(value)} is not a whole number. {_range_text(minimum, maximum)}")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        raise Refused(f"{number} is out of range. {_range_text(minimum, maximum)}")
    return number


def _range_text(minimum: int, maximum: int | None) -> str:
    if maximum is not None:
        return f"Use a whole number from {minimum} to {maximum}."
    if minimum == 0:
        return "Use a whole number, 0 or more."
    return f"Use a whole number, {minimum} or more."


_CIDR = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}")


def parse_ipv4_network(value: str) -> ipaddress.IPv4Network:
    # Only the address/prefix-length form: ipaddress also takes netmasks and bare addresses.
    if not _CIDR.fullmatch(value):
        raise Refused(f"{_shown(value)} is not an IPv4 network in CIDR form, e.g. 10.100.0.0/16.")
    try:
        loose = ipaddress.IPv4Network(value, strict=False)
    except ValueError as err:
        raise Refused(f"{value!r} is not an IPv4 network in CIDR form: {err}.") from None
    if str(loose) != value:
        raise Refused(f"{value!r} has host bits set. Did you mean {str(loose)!r}?")
    return loose


def ipv4_network(value: str) -> None:
    parse_ipv4_network(value)


def absolute_path(value: str) -> None:
    if not value.startswith("/"):
        raise Refused(f"{_shown(value)} is not an absolute path. Give a path starting with /.")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise Refused("The path contains control characters such as newlines.")


def parse_json(value: str) -> object:
    try:
        return json.loads(value)
    except (ValueError, RecursionError) as err:
        detail = str(err) if isinstance(err, ValueError) else "nested too deeply"
        raise Refused(f"The value is not valid JSON ({detail}).") from None
