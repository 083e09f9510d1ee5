"""Magnum's microversions: ``OpenStack-API-Version: container-infra X.Y`` (or ``latest``),
1.1 when absent. The negotiated version is kept on ``request.state.version``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import total_ordering

from cove import errors

SERVICE_NAMES = (
    "container-infra",
    "container-infrastructure",
    "container-infrastructure-management",
)
# Old clients only know this token; no client parses the reply, so it is the safe one to echo.
SERVICE = "container-infra"
HEADER = "OpenStack-API-Version"


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        major, minor = text.split(".")
        return cls(int(major), int(minor))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


MIN = Version(1, 1)
MAX = Version(1, 14)


class UnsupportedVersion(errors.NotAcceptable):
    """A well-formed version outside the server's range: Magnum's special 406 body."""

    def __init__(self, requested: str) -> None:
        super().__init__(
            f"Version {requested} was requested but the minor version is not supported"
        )


class MalformedVersion(errors.NotAcceptable):
    """A header that is not ``<service> X.Y``: a 406 with Magnum's empty generic body."""

    def __init__(self) -> None:
        super().__init__(
            f"Not Acceptable: the {HEADER} header must be '<service> <X.Y|latest>', "
            f"e.g. '{SERVICE} latest'."
        )


def negotiate(header: str | None) -> Version:
    if not header:
        return MIN
    tokens = header.split()
    if len(tokens) != 2:
        raise MalformedVersion()
    service, requested = tokens
    if service.lower() not in SERVICE_NAMES:
        # Magnum answers 406 to another service's version header (``compute 2.1``).
        raise errors.NotAcceptable(
            f"Not Acceptable: the {HEADER} header names the service {service!r}; "
            f"this is {SERVICE} (also {', '.join(SERVICE_NAMES[1:])})."
        )
    if requested.lower() == "latest":
        return MAX
    try:
        version = Version.parse(requested)
    except ValueError:
        raise MalformedVersion() from None
    if version.major != 1 or not MIN <= version <= MAX:
        raise UnsupportedVersion(requested)
    return version


def response_headers(version: Version | None) -> dict[str, str]:
    headers = {
        "OpenStack-API-Minimum-Version": f"{SERVICE} {MIN}",
        "OpenStack-API-Maximum-Version": f"{SERVICE} {MAX}",
        "Vary": HEADER,
    }
    if version is not None:
        headers[HEADER] = f"{SERVICE} {version}"
    return headers
