"""Warnings a request succeeded with, sent in the ``Cove-Warning`` response header (clients
that do not know it ignore it; the ``cove`` CLI prints it). Labels no driver knows are
accepted, as Magnum does, but a typo in a label name should not pass unnoticed."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from cove.domain import labels

HEADER = "Cove-Warning"
# One header line stays readable and well below any proxy's header limit.
MAX_LENGTH = 2048


def header_safe(message: str) -> str:
    """ASCII with every other character escaped (``\\u043a``) and control characters too:
    any label name can be echoed, and building the header can never fail the answer."""
    escaped = message.encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if 32 <= ord(c) < 127 else f"\\x{ord(c):02x}" for c in escaped)
    if len(escaped) > MAX_LENGTH:
        escaped = escaped[: MAX_LENGTH - 3] + "..."
    return escaped


def add(response: Response, message: str) -> None:
    """Add a warning; several are joined with "; " (one header line, as clients read it)."""
    present = response.headers.get(HEADER)
    combined = f"{present}; {header_safe(message)}" if present else header_safe(message)
    response.headers[HEADER] = header_safe(combined)


def unknown_labels(response: Response, coe: str, values: Mapping[str, str]) -> None:
    unknown = labels.validate_labels(coe, values).unknown
    if unknown:
        add(response, f"labels not known for {coe}, no driver reads them: {', '.join(unknown)}")
