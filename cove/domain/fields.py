"""Meaning checks of template and cluster fields, before anything is stored. Each error names
the field and, where the choice is finite, the allowed values."""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

from cove import errors
from cove.domain.coes import MAX_MASTERS, OPTIONS, STORAGE_DRIVERS, Coe

# What a column or a request holds. Integer columns are 32-bit on PostgreSQL.
INT32_MAX = 2**31 - 1
LABELS_MAX = 100
LABEL_NAME_MAX = 255
LABEL_VALUE_MAX = 4096
MULTILINE = "\t\n\r"


def bad_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character no text field may hold: NUL and the other control characters
    (tab and line breaks only in multi-line fields such as a CSR), and lone surrogates, which
    no database encoding stores. ``None`` when the text is clean."""
    for char in value:
        if multiline and char in MULTILINE:
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None


def describe_character(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_text(field: str, value: str, *, multiline: bool = False) -> None:
    char = bad_character(value, multiline=multiline)
    if char is not None:
        raise errors.InvalidField(
            field, value, f"Control character {describe_character(char)} is not allowed."
        )


def check_label_names(field: str, values: Mapping[str, object]) -> None:
    """Label names: 1 to 255 characters, not blank, no control characters; at most 100
    labels, values at most 4096 characters. Names are shown in headers and node configs."""
    if len(values) > LABELS_MAX:
        raise errors.InvalidField(
            field, f"{len(values)} labels", f"At most {LABELS_MAX} labels are allowed."
        )
    for name, value in values.items():
        where = f"{field}.{name}" if len(name) <= LABEL_NAME_MAX else field
        if not name.strip():
            raise errors.InvalidField(field, name, "A label name must not be empty or blank.")
        if len(name) > LABEL_NAME_MAX:
            raise errors.InvalidField(
                field, name, f"A label name has at most {LABEL_NAME_MAX} characters."
            )
        check_text(field, name)
        text = str(value)
        if len(text) > LABEL_VALUE_MAX:
            raise errors.InvalidField(
                where, text, f"A label value has at most {LABEL_VALUE_MAX} characters."
            )
        check_text(where, text)


def check_dns_nameserver(value: str | None) -> None:
    if not value:
        return
    for item in value.split(","):
        try:
            ipaddress.ip_address(item.strip())
        except ValueError:
            raise errors.InvalidField(
                "dns_nameserver",
                value,
                "Expected a single dns address or comma separated dns list, "
                f"{item.strip()!r} is not an IP address.",
            ) from None


def check_proxy(field: str, value: str | None) -> None:
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "socks5") or not parts.hostname:
        raise errors.InvalidField(
            field, value, "Expected a URL such as http://proxy.example.com:3128."
        )
    try:
        _ = parts.port
    except ValueError:
        raise errors.InvalidField(field, value, "The URL's port is not a number.") from None


def check_no_proxy(value: str | None) -> None:
    if not value:
        return
    for item in value.split(","):
        host = item.strip()
        if not host or any(c.isspace() for c in host) or "/" in host.split("/", 1)[0]:
            raise errors.InvalidField(
                "no_proxy", value, "Expected a comma-separated list of hosts, IPs or CIDRs."
            )
        if "/" in host:
            try:
                ipaddress.ip_network(host, strict=False)
            except ValueError:
                raise errors.InvalidField("no_proxy", value, f"{host!r} is not a CIDR.") from None


def network_driver(coe: Coe, value: str | None) -> str:
    """The template's network driver, defaulted per COE."""
    options = OPTIONS[coe]
    if value is None:
        return options.default_network_driver
    if value not in options.network_drivers:
        raise errors.InvalidField(
            "network_driver",
            value,
            f"Network driver type {value} is not supported by the {coe} COE.",
            options.network_drivers,
        )
    return value


def check_volume_driver(coe: Coe, value: str | None) -> None:
    if value is None:
        return
    options = OPTIONS[coe]
    if value not in options.volume_drivers:
        raise errors.InvalidField(
            "volume_driver",
            value,
            f"Volume driver type {value} is not supported by the {coe} COE.",
            options.volume_drivers,
        )


def check_storage(driver: str | None, volume_size: int | None) -> None:
    """A known storage driver. Magnum wants 3 GB of volume for devicemapper, but
    python-magnumclient 3.7 and 4.11 send devicemapper with no volume size by default, and
    cove's drivers serve devicemapper as overlay2 (saying so in a warning): no minimum."""
    del volume_size
    if driver is None:
        return
    if driver not in STORAGE_DRIVERS:
        raise errors.InvalidField(
            "docker_storage_driver", driver, "Unknown Docker storage driver.", STORAGE_DRIVERS
        )


def check_master_count(coe: Coe, master_count: int, master_lb_enabled: bool) -> None:
    if master_count < 1 or master_count > MAX_MASTERS:
        raise errors.InvalidField(
            "master_count", master_count, f"Expected an integer from 1 to {MAX_MASTERS}."
        )
    if master_count > 1 and not master_lb_enabled:
        raise errors.InvalidField(
            "master_count",
            master_count,
            "master_count must be 1 when master_lb_enabled is False.",
        )
    if OPTIONS[coe].odd_masters and master_count % 2 == 0:
        # An even Raft quorum tolerates no more failures than the odd count below it.
        raise errors.InvalidField(
            "master_count",
            master_count,
            f"The {coe} COE keeps a Raft quorum among its masters: use an odd count.",
            [str(n) for n in range(1, MAX_MASTERS + 1, 2)],
        )
