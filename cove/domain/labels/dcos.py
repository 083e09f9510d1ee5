"""DC/OS labels (coe ``dcos``): the ``isolation``, ``launcher`` and ``image_providers`` labels
that Magnum's open-dcos spec promised, and the Magnum DC/OS driver's own labels, checked the way
the DC/OS installer's configuration validator checks them (gen/calc.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from cove.domain.labels._core import (
    BOOL_ALLOWED,
    LabelSpec,
    Refused,
    Rule,
    Schema,
    absolute_path,
    boolean,
    integer,
    one_of,
    parse_bool,
    parse_ipv4_network,
    parse_json,
    split_list,
)
from cove.domain.labels.common import REXRAY_PREEMPT
from cove.domain.labels.mesos import (
    IMAGE_PROVIDERS,
    ISOLATORS,
    isolation_check,
    parse_providers,
    providers_check,
)

# What DC/OS 1.8 (the release Magnum's image installs) enables on every agent; `isolation`
# adds to these. They already include filesystem/linux and docker/runtime, so image providers
# need no further isolators.
DEFAULT_ISOLATION = frozenset(
    {
        "cgroups/cpu",
        "cgroups/mem",
        "disk/du",
        "network/cni",
        "filesystem/linux",
        "docker/runtime",
        "docker/volume",
    }
)
LAUNCHERS = ("linux", "posix")
# Isolators that rely on the linux launcher's namespaces.
_NEED_LINUX_LAUNCHER = ("filesystem/linux", "namespaces/pid", "docker/volume", "network/cni")
EXHIBITOR_BACKENDS = ("static", "zookeeper", "aws_s3", "azure")
# The labels each Exhibitor backend reads, and which of them it cannot do without.
_BACKEND_LABELS = {
    "static": (),
    "zookeeper": ("exhibitor_zk_hosts", "exhibitor_zk_path"),
    "aws_s3": (
        "aws_region",
        "s3_bucket",
        "s3_prefix",
        "exhibitor_explicit_keys",
        "aws_access_key_id",
        "aws_secret_access_key",
    ),
    "azure": (
        "exhibitor_azure_account_name",
        "exhibitor_azure_account_key",
        "exhibitor_azure_prefix",
    ),
}
_BACKEND_REQUIRES = {
    "static": (),
    "zookeeper": _BACKEND_LABELS["zookeeper"],
    "aws_s3": _BACKEND_LABELS["aws_s3"][:4],
    "azure": _BACKEND_LABELS["azure"],
}
_OVERLAY_LABELS = ("dcos_overlay_network", "dcos_overlay_mtu", "dcos_overlay_config_attempts")
_OVERLAY_EXAMPLE = (
    '{"vtep_subnet": "44.128.0.0/20", "vtep_mac_oui": "70:B3:D5:00:00:00", '
    '"overlays": [{"name": "dcos", "subnet": "9.0.0.0/8", "prefix": 24}]}'
)
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
_ZK_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})")
_DOMAIN = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _posix_launcher_limits(value: str, labels: Mapping[str, str]) -> None:
    if value != "posix":
        return
    if parse_providers(labels.get("image_providers", "")):
        raise Refused(
            "The posix launcher cannot run container images, so it cannot be combined with "
            f"image_providers={labels['image_providers']}. Use launcher=linux or remove "
            "image_providers."
        )
    clash = [i for i in split_list(labels.get("isolation", "")) if i in _NEED_LINUX_LAUNCHER]
    if clash:
        raise Refused(
            f"The posix launcher has no Linux namespaces, so it cannot run {', '.join(clash)} "
            "from isolation. Use launcher=linux or remove them from isolation."
        )


def _backend_has_companions(value: str, labels: Mapping[str, str]) -> None:
    missing = [name for name in _BACKEND_REQUIRES[value] if not labels.get(name)]
    if missing:
        raise Refused(f"The {value} backend also needs {', '.join(missing)}. Add them.")


def _companion_of(name: str) -> Rule:
    owner = next(backend for backend, names in _BACKEND_LABELS.items() if name in names)

    def rule(value: str, labels: Mapping[str, str]) -> None:
        backend = labels.get("exhibitor_storage_backend")
        if backend != owner:
            now = f"is {backend}" if backend is not None else "is unset (static)"
            raise Refused(
                f"Only the {owner} Exhibitor backend reads {name}, and "
                f"exhibitor_storage_backend {now}. Set exhibitor_storage_backend={owner} "
                f"or remove {name}."
            )

    return rule


def _explicit_keys_given(value: str, labels: Mapping[str, str]) -> None:
    missing = [k for k in ("aws_access_key_id", "aws_secret_access_key") if not labels.get(k)]
    if parse_bool(value) and missing:
        raise Refused(
            f"With explicit keys, Exhibitor signs in to S3 with {', '.join(missing)}. Add them."
        )


def _overlay_enabled_for(name: str) -> Rule:
    def rule(value: str, labels: Mapping[str, str]) -> None:
        enable = labels.get("dcos_overlay_enable")
        if enable is not None and not parse_bool(enable):
            raise Refused(
                f"It has no effect while dcos_overlay_enable is {enable}. Remove {name} or "
                "set dcos_overlay_enable=true."
            )

    return rule


def _network(value: object, where: str) -> int:
    if not isinstance(value, str):
        raise Refused(f"{where} must be an IPv4 network string such as 9.0.0.0/8.")
    try:
        return parse_ipv4_network(value).prefixlen
    except Refused as err:
        raise Refused(f"{where}: {err.reason}") from None


def _overlay_network(value: str) -> None:
    data = parse_json(value)
    need = ("vtep_subnet", "vtep_mac_oui", "overlays")
    if not isinstance(data, dict) or any(key not in data for key in need):
        raise Refused(f"Give a JSON object with {', '.join(need)}, e.g. {_OVERLAY_EXAMPLE}.")
    _network(data["vtep_subnet"], "vtep_subnet")
    if not isinstance(data["vtep_mac_oui"], str) or not _MAC.fullmatch(data["vtep_mac_oui"]):
        raise Refused("vtep_mac_oui must be a MAC address such as 70:B3:D5:00:00:00.")
    overlays = data["overlays"]
    if not isinstance(overlays, list) or not overlays:
        raise Refused("overlays must be a non-empty list of {name, subnet, prefix} objects.")
    seen: set[str] = set()
    for index, overlay in enumerate(overlays):
        where = f"overlays[{index}]"
        if not isinstance(overlay, dict) or any(k not in overlay for k in ("name", "subnet")):
            raise Refused(f"{where} must be an object with name, subnet and prefix.")
        name = overlay["name"]
        # DC/OS names the overlay's Linux bridges after it, hence its 13-character limit.
        if not isinstance(name, str) or not 1 <= len(name) <= 13 or name in seen:
            raise Refused(f"{where}.name must be a unique name of 1 to 13 characters.")
        seen.add(name)
        length = _network(overlay["subnet"], f"{where}.subnet")
        prefix = overlay.get("prefix")
        if type(prefix) is not int or not length < prefix <= 30:
            raise Refused(
                f"{where}.prefix is the prefix length of each agent's share of the subnet: "
                f"use a whole number from {length + 1} to 30."
            )


def _dns_search(value: str) -> None:
    # DC/OS writes this into resolv.conf's search line: space-separated, at most 6 domains
    # and 255 characters.
    if "," in value or any(char.isspace() and char != " " for char in value):
        raise Refused("Separate the domains with spaces, e.g. 'example.com corp.example.com'.")
    domains = value.split()
    if len(domains) > 6 or len(value) > 255:
        raise Refused("Give at most 6 domains and 255 characters.")
    for domain in domains:
        if not _DOMAIN.fullmatch(domain):
            raise Refused(f"{domain!r} is not a domain name.")


def _zk_hosts(value: str) -> None:
    example = "e.g. 10.0.0.5:2181,10.0.0.6:2181"
    if value.startswith("zk://"):
        raise Refused(f"Give host:port pairs without the zk:// scheme, {example}.")
    hosts = split_list(value)
    if not hosts:
        raise Refused(f"Give the ZooKeeper ensemble as comma-separated host:port pairs, {example}.")
    for host in hosts:
        match = _ZK_HOST.fullmatch(host)
        if match is None or not 1 <= int(match.group(1)) <= 65535:
            raise Refused(f"{host!r} is not a host:port pair, {example}.")


def _text(name: str, description: str, *, secret: bool = False) -> LabelSpec:
    return LabelSpec(name, description, secret=secret)


def _bool(name: str, description: str, default: str) -> LabelSpec:
    return LabelSpec(name, description, BOOL_ALLOWED, default, check=boolean)


_SPECS = (
    LabelSpec(
        "isolation",
        "Comma-separated Mesos isolators to enable on the agents in addition to DC/OS's "
        "defaults (" + ", ".join(sorted(DEFAULT_ISOLATION)) + ").",
        ISOLATORS,
        "",
        check=isolation_check(DEFAULT_ISOLATION),
        is_list=True,
    ),
    LabelSpec(
        "launcher",
        "The Mesos launcher: linux uses namespaces and cgroups, posix plain processes.",
        LAUNCHERS,
        "linux",
        check=one_of(*LAUNCHERS, what="Mesos launcher"),
    ),
    LabelSpec(
        "image_providers",
        "Comma-separated container image formats the Mesos containerizer can run.",
        IMAGE_PROVIDERS,
        None,
        check=providers_check,
        is_list=True,
    ),
    LabelSpec(
        "exhibitor_storage_backend",
        "Where Exhibitor keeps the ZooKeeper ensemble's shared state.",
        EXHIBITOR_BACKENDS,
        "static",
        check=one_of(*EXHIBITOR_BACKENDS, what="Exhibitor storage backend"),
    ),
    LabelSpec(
        "exhibitor_zk_hosts",
        "Comma-separated host:port pairs of the ZooKeeper ensemble of the zookeeper backend.",
        check=_zk_hosts,
    ),
    LabelSpec(
        "exhibitor_zk_path",
        "The znode path, such as /dcos, under which the zookeeper backend keeps its state.",
        check=absolute_path,
    ),
    _text("aws_region", "The AWS region of the aws_s3 backend's bucket."),
    _text("s3_bucket", "The S3 bucket of the aws_s3 backend."),
    _text("s3_prefix", "The key prefix inside s3_bucket for the aws_s3 backend."),
    _bool(
        "exhibitor_explicit_keys",
        "Whether the aws_s3 backend signs in with aws_access_key_id and aws_secret_access_key.",
        "true",
    ),
    _text("aws_access_key_id", "The AWS access key ID of the aws_s3 backend."),
    _text("aws_secret_access_key", "The AWS secret access key of the aws_s3 backend.", secret=True),
    _text("exhibitor_azure_account_name", "The Azure storage account of the azure backend."),
    _text(
        "exhibitor_azure_account_key",
        "The Azure storage account key of the azure backend.",
        secret=True,
    ),
    _text("exhibitor_azure_prefix", "The blob name prefix of the azure backend."),
    _bool("dcos_overlay_enable", "Whether DC/OS's virtual overlay networks are enabled.", "true"),
    LabelSpec(
        "dcos_overlay_network",
        "The overlay networks, as JSON: " + _OVERLAY_EXAMPLE + ".",
        check=_overlay_network,
    ),
    LabelSpec(
        "dcos_overlay_mtu",
        "The MTU of the overlay networks' interfaces.",
        None,
        "1420",
        check=integer(552, 65535),
    ),
    LabelSpec(
        "dcos_overlay_config_attempts",
        "How many times DC/OS tries to configure the overlay networks before giving up.",
        None,
        "4",
        check=integer(0, 10),
    ),
    LabelSpec(
        "dns_search",
        "Space-separated domains tried for unqualified host names (at most 6).",
        None,
        "",
        check=_dns_search,
    ),
    _bool("check_time", "Whether installation checks that the nodes' clocks are in sync.", "true"),
    LabelSpec(
        "docker_remove_delay",
        "Hours to keep a finished task's Docker container before removing it.",
        None,
        "1",
        check=integer(1),
    ),
    LabelSpec(
        "gc_delay",
        "Days to keep a finished executor's sandbox before garbage-collecting it.",
        None,
        "2",
        check=integer(1),
    ),
    LabelSpec(
        "process_timeout",
        "Seconds the installer waits for an action to start before failing it.",
        None,
        "120",
        check=integer(1),
    ),
    LabelSpec(
        "log_directory",
        "The absolute path where the installer writes its logs.",
        None,
        "/genconf/logs",
        check=absolute_path,
    ),
    _bool("oauth_enabled", "Whether the DC/OS web interface and API require sign-in.", "true"),
    _bool("telemetry_enabled", "Whether DC/OS sends anonymous usage data to Mesosphere.", "true"),
    REXRAY_PREEMPT,
)

_COMPANIONS = tuple(name for names in _BACKEND_LABELS.values() for name in names)

DCOS = Schema(
    specs=_SPECS,
    rules=(
        ("launcher", _posix_launcher_limits),
        ("exhibitor_storage_backend", _backend_has_companions),
        *((name, _companion_of(name)) for name in _COMPANIONS),
        ("exhibitor_explicit_keys", _explicit_keys_given),
        *((name, _overlay_enabled_for(name)) for name in _OVERLAY_LABELS),
    ),
)
