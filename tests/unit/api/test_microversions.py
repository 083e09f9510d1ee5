from __future__ import annotations

import pytest

from cove import errors
from cove.api import microversions
from cove.api.microversions import MalformedVersion, UnsupportedVersion, Version, negotiate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Version(1, 1)),
        ("container-infra latest", Version(1, 14)),
        ("container-infra 1.9", Version(1, 9)),
        ("container-infrastructure 1.10", Version(1, 10)),
        ("container-infrastructure-management 1.14", Version(1, 14)),
    ],
)
def test_negotiated_version(header: str | None, expected: Version) -> None:
    assert negotiate(header) == expected


@pytest.mark.parametrize(
    "header", ["container-infra 1.15", "container-infra 2.0", "container-infra 1.0"]
)
def test_out_of_range_is_unsupported(header: str) -> None:
    with pytest.raises(UnsupportedVersion):
        negotiate(header)


@pytest.mark.parametrize(
    "header", ["container-infra 1", "container-infra", "a b c", "container-infra x.y"]
)
def test_malformed_header(header: str) -> None:
    with pytest.raises(MalformedVersion):
        negotiate(header)


def test_response_headers_name_the_range() -> None:
    headers = microversions.response_headers(Version(1, 9))
    assert headers["OpenStack-API-Version"] == "container-infra 1.9"
    assert headers["OpenStack-API-Minimum-Version"] == "container-infra 1.1"
    assert headers["OpenStack-API-Maximum-Version"] == "container-infra 1.14"


def test_another_services_header_is_not_acceptable() -> None:
    # As Magnum: a version header for another service is a 406, not the default version.
    with pytest.raises(errors.NotAcceptable, match="'compute'"):
        negotiate("compute 2.60")
