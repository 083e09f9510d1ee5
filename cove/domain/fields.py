"""Meaning checks of template and cluster fields, before anything is stored. Each error names
the field and, where the choice is finite, the allowed values."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from cove import errors
from cove.domain.coes import MAX_MASTERS, OPTIONS, STORAGE_DRIVERS, Coe


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
    if driver is None:
        return
    if driver not in STORAGE_DRIVERS:
        raise errors.InvalidField(
            "docker_storage_driver", driver, "Unknown Docker storage driver.", STORAGE_DRIVERS
        )
    if driver == "devicemapper" and (volume_size is None or volume_size < 3):
        raise errors.InvalidField(
            "docker_volume_size",
            volume_size,
            f"docker volume size {volume_size} GB is not valid, expecting minimum value 3GB "
            "for devicemapper storage driver.",
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
