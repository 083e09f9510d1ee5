"""The one error type of deployment definitions and packages: a list of problems, each naming
the element at fault by its path, so a user fixes them all in one go instead of one per
request. Paths are dotted keys with list indexes in brackets:
``services.keystone.requires[0]``, ``templates.keystone-conf``, ``options.db.port``.

Messages never quote values a user may have marked secret; callers that format values keep
them to names, numbers and what the definition itself declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cove import errors

# How many problems the error's message spells out; ``problems`` keeps them all.
MESSAGE_PROBLEMS = 20


@dataclass(frozen=True, order=True)
class Problem:
    """One element at fault. ``path`` is empty for the document as a whole."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def join(*parts: str | int) -> str:
    """The path of an element: ``join("services", "db", "ports", 0)`` is
    ``services.db.ports[0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = part
    return out


class DefinitionError(errors.InvalidRequest):
    """400: a definition, package or option set refused; ``problems`` names every element at
    fault. Raised before anything is stored or started."""

    def __init__(self, problems: Iterable[Problem], what: str = "deployment definition") -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:MESSAGE_PROBLEMS])
        more = len(self.problems) - MESSAGE_PROBLEMS
        if more > 0:
            shown += f"; and {more} more"
        super().__init__(f"Invalid {what}: {shown}")
