"""Senlin's microversions: ``OpenStack-API-Version: clustering 1.x`` (or ``latest``), 1.0
when absent or when the header names only other services. Senlin 16 serves 1.0 to 1.14;
it reads no legacy header."""

from __future__ import annotations

from cove.api.microversions import Version
from cove.domain.clustering import errors as cerr

SERVICE = "clustering"
MIN = Version(1, 0)
MAX = Version(1, 14)


class UnsupportedVersion(cerr.BadRequest):
    status = 406
    senlin_type = "InvalidGlobalAPIVersion"

    def __init__(self, requested: str) -> None:
        super().__init__(
            f"Version '{requested}' is not supported by the API. Minimum is '{MIN}' and "
            f"maximum is '{MAX}'."
        )


def negotiate(header: str | None) -> Version:
    """The version asked for; ``BadRequest`` for a malformed one, 406 outside the range."""
    if not header:
        return MIN
    requested = None
    for item in header.split(","):
        tokens = item.split()
        if len(tokens) == 2 and tokens[0].lower() == SERVICE:
            requested = tokens[1]
    if requested is None:
        return MIN
    if requested.lower() == "latest":
        return MAX
    try:
        version = Version.parse(requested)
    except ValueError:
        raise cerr.BadRequest(
            f"API Version String '{requested}' is of invalid format. It must be of format "
            "'major.minor'."
        ) from None
    if not MIN <= version <= MAX:
        raise UnsupportedVersion(requested)
    return version


def at_least(version: Version, minimum: str, feature: str) -> None:
    """A method that exists from a microversion on (Senlin: MethodVersionNotFound, 400)."""
    if version < Version.parse(minimum):
        raise cerr.BadRequest(
            f"API version '{version}' is not supported on this method ({feature} needs "
            f"{minimum} or later)."
        )
