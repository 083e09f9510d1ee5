"""Warnings a request succeeded with, sent in the ``Cove-Warning`` response header (clients
that do not know it ignore it; the ``cove`` CLI prints it). Labels no driver knows are
accepted, as Magnum does, but a typo in a label name should not pass unnoticed."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from cove.domain import labels

HEADER = "Cove-Warning"


def add(response: Response, message: str) -> None:
    """Add a warning; several are joined with "; " (one header line, as clients read it)."""
    present = response.headers.get(HEADER)
    response.headers[HEADER] = f"{present}; {message}" if present else message


def unknown_labels(response: Response, coe: str, values: Mapping[str, str]) -> None:
    unknown = labels.validate_labels(coe, values).unknown
    if unknown:
        add(response, f"labels not known for {coe}, no driver reads them: {', '.join(unknown)}")
