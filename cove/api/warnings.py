"""Warnings a request succeeded with, sent in the ``Cove-Warning`` response header (clients
that do not know it ignore it; the ``cove`` CLI prints it). Labels no driver knows are
accepted, as Magnum does, but a typo in a label name should not pass unnoticed."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from cove.domain import labels

HEADER = "Cove-Warning"


def unknown_labels(response: Response, coe: str, values: Mapping[str, str]) -> None:
    unknown = labels.validate_labels(coe, values).unknown
    if unknown:
        response.headers[HEADER] = (
            f"labels not known for {coe}, no driver reads them: {', '.join(unknown)}"
        )
