"""flannel's labels, for the COEs where flannel is a network driver (kubernetes, swarm).
Defaults follow Magnum's user guide and Heat templates."""

from __future__ import annotations

from collections.abc import Mapping

from cove.domain.labels._core import (
    LabelSpec,
    Refused,
    Schema,
    integer,
    one_of,
    parse_int,
    parse_ipv4_network,
)

DEFAULT_CIDR = "10.100.0.0/16"
DEFAULT_SUBNETLEN = 24
BACKENDS = ("udp", "vxlan", "host-gw")
# Each host's subnet holds a network address, the bridge's gateway address, a broadcast address
# and at least one container, so a /30 is the smallest that works.
MAX_SUBNETLEN = 30


def _cidr(value: str) -> None:
    network = parse_ipv4_network(value)
    if network.prefixlen >= MAX_SUBNETLEN:
        raise Refused(
            f"A /{network.prefixlen} network is too small to split into per-host subnets. "
            f"Use a prefix length of {MAX_SUBNETLEN - 1} or less, e.g. {DEFAULT_CIDR}."
        )


def _subnetlen_fits(value: str, labels: Mapping[str, str]) -> None:
    given = labels.get("flannel_network_cidr")
    network = parse_ipv4_network(given if given is not None else DEFAULT_CIDR)
    where = f"flannel_network_cidr {network}" + (" (the default)" if given is None else "")
    length = parse_int(value)
    if not network.prefixlen < length <= MAX_SUBNETLEN:
        raise Refused(
            f"Each host's subnet must be smaller than {where}. "
            f"Use a whole number from {network.prefixlen + 1} to {MAX_SUBNETLEN}."
        )


def _cidr_fits_default_subnetlen(value: str, labels: Mapping[str, str]) -> None:
    if "flannel_network_subnetlen" in labels:
        return  # checked from the other side
    network = parse_ipv4_network(value)
    if network.prefixlen >= DEFAULT_SUBNETLEN:
        raise Refused(
            f"Hosts get /{DEFAULT_SUBNETLEN} subnets by default, which do not fit inside a "
            f"/{network.prefixlen}. Use a prefix length below {DEFAULT_SUBNETLEN}, or set "
            f"flannel_network_subnetlen to a value from {network.prefixlen + 1} to "
            f"{MAX_SUBNETLEN}."
        )


FLANNEL = Schema(
    specs=(
        LabelSpec(
            "flannel_network_cidr",
            "The IPv4 network, in CIDR form, that flannel splits into per-host container subnets.",
            None,
            DEFAULT_CIDR,
            check=_cidr,
        ),
        LabelSpec(
            "flannel_network_subnetlen",
            "The prefix length of the subnet each host gets out of flannel_network_cidr.",
            None,
            str(DEFAULT_SUBNETLEN),
            check=integer(),
        ),
        LabelSpec(
            "flannel_backend",
            "How flannel carries traffic between hosts: udp works anywhere, vxlan is faster, "
            "host-gw is fastest but needs all nodes on one L2 network.",
            BACKENDS,
            "udp",
            check=one_of(*BACKENDS, what="flannel backend"),
        ),
    ),
    rules=(
        ("flannel_network_subnetlen", _subnetlen_fits),
        ("flannel_network_cidr", _cidr_fits_default_subnetlen),
    ),
)
