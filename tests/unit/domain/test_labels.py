"""Per-COE label validation (cove.domain.labels)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cove.domain.labels import (
    IMAGE_PROVIDERS,
    ISOLATORS,
    LabelCheck,
    label_specs,
    parse_bool,
    validate_labels,
)
from cove.errors import InvalidField, InvalidLabel

COES = ("kubernetes", "swarm", "swarm-mode", "mesos", "dcos")
BOOL = ("true", "false")
OVERLAY = {
    "vtep_subnet": "44.128.0.0/20",
    "vtep_mac_oui": "70:B3:D5:00:00:00",
    "overlays": [{"name": "dcos", "subnet": "9.0.0.0/8", "prefix": 24}],
}


def overlay(**changes: object) -> str:
    """OVERLAY as JSON, with top-level keys replaced (None removes the key)."""
    data = {**OVERLAY, **changes}
    return json.dumps({key: value for key, value in data.items() if value is not None})


def refusal(coe: str, labels: dict[str, str]) -> InvalidLabel:
    with pytest.raises(InvalidLabel) as info:
        validate_labels(coe, labels)
    return info.value


# --- parse_bool --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["true", "True", "TRUE", "t", "T", "yes", "Yes", "y", "Y", "on", "ON", "1", " true\n"]
)
def test_parse_bool_reads_true_words(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize(
    "text", ["false", "False", "FALSE", "f", "F", "no", "No", "n", "N", "off", "OFF", "0", " 0 "]
)
def test_parse_bool_reads_false_words(text: str) -> None:
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["", " ", "maybe", "2", "-1", "truee", "enabled", "none", "10"])
def test_parse_bool_refuses_other_words_with_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_bool(text)


# --- accepted label sets -----------------------------------------------------------------------

VALID = [
    # common to every COE
    *[
        (
            coe,
            {
                "auto_healing_enabled": "True",
                "auto_healing_controller": "magnum-auto-healer",
                "min_node_count": "0",
                "max_node_count": "10",
                "boot_volume_size": "0",
                "availability_zone": "nova",
                "container_infra_prefix": "registry.example.com/mirror/",
            },
        )
        for coe in COES
    ],
    *[(coe, {"container_infra_prefix": ""}) for coe in COES],
    *[(coe, {"min_node_count": "3", "max_node_count": "3"}) for coe in COES],
    *[(coe, {"min_node_count": "7"}) for coe in COES],
    # kubernetes
    (
        "kubernetes",
        {
            "kube_tag": "v1.30.2",
            "cgroup_driver": "systemd",
            "container_runtime": "containerd",
            "calico_ipv4pool": "192.168.0.0/16",
            "calico_ipv4pool_ipip": "CrossSubnet",
            "service_cluster_ip_range": "10.254.0.0/16",
            "flannel_network_cidr": "10.100.0.0/16",
            "flannel_backend": "vxlan",
            "kube_dashboard_enabled": "1",
            "influx_grafana_dashboard_enabled": "no",
            "ingress_controller": "octavia",
            "keystone_auth_enabled": "yes",
            "master_lb_floating_ip_enabled": "off",
            "etcd_volume_size": "20",
            "kubelet_options": "--max-pods=200",
            "etcd_tag": "v3.5.9",
        },
    ),
    ("kubernetes", {"kube_tag": "v1.23.3-rancher1"}),
    ("kubernetes", {"kube_tag": "v1.31.0-rc.1"}),
    ("kubernetes", {"container_runtime": ""}),
    ("kubernetes", {"container_runtime": "host-docker"}),
    ("kubernetes", {"ingress_controller": ""}),
    ("kubernetes", {"cgroup_driver": "cgroupfs"}),
    ("kubernetes", {"service_cluster_ip_range": "10.96.0.0/12", "calico_ipv4pool": "10.0.0.0/16"}),
    # swarm
    ("swarm", {"swarm_strategy": "binpack", "flannel_backend": "host-gw", "rexray_preempt": "t"}),
    ("swarm", {"swarm_strategy": "random", "docker_volume_type": "ssd"}),
    ("swarm-mode", {"swarm_strategy": "spread", "docker_volume_type": "", "rexray_preempt": "0"}),
    # mesos
    (
        "mesos",
        {
            "mesos_slave_isolation": "filesystem/linux,docker/runtime,cgroups/cpu,cgroups/mem",
            "mesos_slave_image_providers": "docker,appc",
            "mesos_slave_work_dir": "/var/lib/mesos",
            "mesos_slave_executor_env_variables": '{"PATH": "/usr/bin:/bin", "LANG": "C"}',
            "rexray_preempt": "false",
        },
    ),
    ("mesos", {"mesos_slave_isolation": "", "mesos_slave_image_providers": ""}),
    ("mesos", {"mesos_slave_isolation": "filesystem/linux,docker/volume"}),
    ("mesos", {"mesos_slave_isolation": "posix/cpu,posix/mem,posix/disk"}),
    ("mesos", {"mesos_slave_isolation": "network/cni,network/ports"}),
    ("mesos", {"mesos_slave_executor_env_variables": "{}"}),
    # dcos
    (
        "dcos",
        {
            "isolation": "cgroups/pids, namespaces/pid",
            "launcher": "linux",
            "image_providers": "docker, appc",
            "exhibitor_storage_backend": "zookeeper",
            "exhibitor_zk_hosts": "10.0.0.5:2181,zk.example.com:2181",
            "exhibitor_zk_path": "/dcos",
            "dcos_overlay_enable": "true",
            "dcos_overlay_network": overlay(),
            "dcos_overlay_mtu": "1420",
            "dcos_overlay_config_attempts": "4",
            "dns_search": "example.com corp.example.com",
            "check_time": "false",
            "oauth_enabled": "False",
            "telemetry_enabled": "no",
            "docker_remove_delay": "1",
            "gc_delay": "2",
            "process_timeout": "120",
            "log_directory": "/genconf/logs",
            "rexray_preempt": "false",
        },
    ),
    ("dcos", {"launcher": "posix"}),
    ("dcos", {"launcher": "posix", "isolation": "cgroups/cpuset"}),
    ("dcos", {"exhibitor_storage_backend": "static"}),
    (
        "dcos",
        {
            "exhibitor_storage_backend": "aws_s3",
            "aws_region": "us-west-2",
            "s3_bucket": "bucket",
            "s3_prefix": "dcos",
            "exhibitor_explicit_keys": "true",
            "aws_access_key_id": "AKIAEXAMPLE",
            "aws_secret_access_key": "secret",
        },
    ),
    (
        "dcos",
        {
            "exhibitor_storage_backend": "aws_s3",
            "aws_region": "us-west-2",
            "s3_bucket": "bucket",
            "s3_prefix": "dcos",
            "exhibitor_explicit_keys": "false",
        },
    ),
    (
        "dcos",
        {
            "exhibitor_storage_backend": "azure",
            "exhibitor_azure_account_name": "acct",
            "exhibitor_azure_account_key": "key",
            "exhibitor_azure_prefix": "dcos",
        },
    ),
    ("dcos", {"dcos_overlay_enable": "false"}),
    ("dcos", {"dcos_overlay_mtu": "9000"}),
    ("dcos", {"dns_search": ""}),
    ("dcos", {"isolation": "gpu/nvidia,volume/secret"}),
]


@pytest.mark.parametrize(("coe", "labels"), VALID)
def test_valid_labels_pass_with_nothing_unknown(coe: str, labels: dict[str, str]) -> None:
    assert validate_labels(coe, labels) == LabelCheck(unknown=())


@pytest.mark.parametrize("coe", COES)
def test_no_labels_is_valid(coe: str) -> None:
    assert validate_labels(coe, {}) == LabelCheck(unknown=())


# --- the seed's DC/OS example ------------------------------------------------------------------

SEED_EXAMPLE = {"isolation": "docker/volume", "launcher": "linux", "image_providers": "docker"}


@pytest.mark.parametrize(
    "labels",
    [
        SEED_EXAMPLE,
        # The spaces after the commas of `isolation=docker/volume, launcher=linux,
        # image_providers=docker`, and the trailing comma of the seed's shell line.
        {"isolation": " docker/volume,", "launcher": " linux", "image_providers": " docker"},
        {"isolation": "docker/volume ", "launcher": "linux ", "image_providers": "docker\n"},
    ],
    ids=["as-written", "comma-spaces", "trailing-space"],
)
def test_dcos_spec_example_is_valid(labels: dict[str, str]) -> None:
    # docker needs filesystem/linux and docker/runtime, which DC/OS enables by default.
    assert validate_labels("dcos", labels) == LabelCheck(unknown=())


def test_dcos_spec_example_with_padded_names_names_the_label_to_use() -> None:
    # Split naively on commas, the example gives " launcher": no driver reads that name, so
    # it is refused with the name to use rather than stored and ignored.
    labels = {"isolation": "docker/volume", " launcher": "linux", " image_providers": "docker"}
    err = refusal("dcos", labels)
    assert err.label == " image_providers"
    assert "'image_providers'" in str(err)


# --- refused label sets ------------------------------------------------------------------------

INVALID = [
    # common
    ("kubernetes", {"min_node_count": "-1"}, "min_node_count", ["whole number, 0 or more"]),
    ("mesos", {"max_node_count": "ten"}, "max_node_count", ["'ten'", "whole number"]),
    ("swarm", {"max_node_count": "+5"}, "max_node_count", ["whole number"]),
    ("swarm", {"max_node_count": "1_000"}, "max_node_count", ["whole number"]),
    ("swarm", {"boot_volume_size": "1.5"}, "boot_volume_size", ["whole number"]),
    ("dcos", {"boot_volume_size": ""}, "boot_volume_size", ["empty value"]),
    (
        "dcos",
        {"min_node_count": "3", "max_node_count": "2"},
        "min_node_count",
        ["min_node_count (3)", "max_node_count (2)"],
    ),
    (
        "swarm-mode",
        {"container_infra_prefix": "registry.example.com/mirror"},
        "container_infra_prefix",
        ["'/'", "'registry.example.com/mirror/'"],
    ),
    # kubernetes
    ("kubernetes", {"kube_tag": "1.30.2"}, "kube_tag", ["v1.30.2"]),
    ("kubernetes", {"kube_tag": "v1.30"}, "kube_tag", ["release tag"]),
    ("kubernetes", {"kube_tag": "latest"}, "kube_tag", ["release tag"]),
    ("kubernetes", {"calico_ipv4pool": "192.168.0.0/33"}, "calico_ipv4pool", ["CIDR"]),
    (
        "kubernetes",
        {"service_cluster_ip_range": "10.254.0.0"},
        "service_cluster_ip_range",
        ["CIDR"],
    ),
    (
        "kubernetes",
        {"service_cluster_ip_range": "10.100.0.0/24", "flannel_network_cidr": "10.100.0.0/16"},
        "service_cluster_ip_range",
        ["overlaps", "flannel_network_cidr=10.100.0.0/16"],
    ),
    (
        "kubernetes",
        {"service_cluster_ip_range": "192.168.0.0/16", "calico_ipv4pool": "192.168.10.0/24"},
        "service_cluster_ip_range",
        ["calico_ipv4pool"],
    ),
    ("kubernetes", {"etcd_volume_size": "-5"}, "etcd_volume_size", ["whole number"]),
    ("kubernetes", {"keystone_auth_enabled": ""}, "keystone_auth_enabled", ["not a boolean"]),
    # swarm: Magnum split on whitespace and took several strategies; the manager takes one.
    ("swarm", {"swarm_strategy": "spread binpack"}, "swarm_strategy", ["'spread binpack'"]),
    # mesos
    ("mesos", {"mesos_slave_work_dir": "var/lib/mesos"}, "mesos_slave_work_dir", ["absolute"]),
    ("mesos", {"mesos_slave_work_dir": "/var/lib\n/x"}, "mesos_slave_work_dir", ["control"]),
    (
        "mesos",
        {"mesos_slave_executor_env_variables": "PATH=/bin"},
        "mesos_slave_executor_env_variables",
        ["not valid JSON", "Expecting value: line 1 column 1"],
    ),
    (
        "mesos",
        {"mesos_slave_executor_env_variables": '{"PATH": "/bin",}'},
        "mesos_slave_executor_env_variables",
        ["not valid JSON", "line 1"],
    ),
    (
        "mesos",
        {"mesos_slave_executor_env_variables": '["PATH"]'},
        "mesos_slave_executor_env_variables",
        ["JSON object", "JSON array"],
    ),
    (
        "mesos",
        {"mesos_slave_executor_env_variables": '{"LEVEL": 3, "DEBUG": true}'},
        "mesos_slave_executor_env_variables",
        ["only string values", "'DEBUG'", "'LEVEL'"],
    ),
    (
        "mesos",
        {"mesos_slave_isolation": "filesystem/posix,filesystem/linux"},
        "mesos_slave_isolation",
        ["one filesystem isolator"],
    ),
    (
        "mesos",
        {"mesos_slave_isolation": "posix/disk,disk/du"},
        "mesos_slave_isolation",
        ["old name of disk/du"],
    ),
    (
        "mesos",
        {"mesos_slave_isolation": "network/cni,network/port_mapping"},
        "mesos_slave_isolation",
        ["one network isolator"],
    ),
    (
        "mesos",
        {"mesos_slave_isolation": "docker/volume"},
        "mesos_slave_isolation",
        ["docker/volume isolator needs filesystem/linux"],
    ),
    (
        "mesos",
        {"mesos_slave_isolation": "Docker/Runtime"},
        "mesos_slave_isolation",
        ["'Docker/Runtime'", "closest is 'docker/runtime'"],
    ),
    # dcos: isolation adds to DC/OS's defaults
    ("dcos", {"isolation": "filesystem/posix"}, "isolation", ["filesystem/linux (enabled by"]),
    ("dcos", {"isolation": "posix/disk"}, "isolation", ["disk/du (enabled by default)"]),
    ("dcos", {"isolation": "network/port_mapping"}, "isolation", ["one network isolator"]),
    (
        "dcos",
        {"launcher": "posix", "image_providers": "docker"},
        "launcher",
        ["image_providers=docker", "launcher=linux"],
    ),
    *[
        (
            "dcos",
            {"launcher": "posix", "isolation": f"cgroups/cpuset,{isolator}"},
            "launcher",
            ["posix launcher", isolator, "isolation", "launcher=linux"],
        )
        for isolator in ("filesystem/linux", "namespaces/pid", "docker/volume", "network/cni")
    ],
    (
        "dcos",
        {"exhibitor_storage_backend": "zookeeper"},
        "exhibitor_storage_backend",
        ["exhibitor_zk_hosts", "exhibitor_zk_path"],
    ),
    (
        "dcos",
        {"exhibitor_storage_backend": "zookeeper", "exhibitor_zk_hosts": "10.0.0.5:2181"},
        "exhibitor_storage_backend",
        ["needs exhibitor_zk_path"],
    ),
    (
        "dcos",
        {"exhibitor_storage_backend": "aws_s3", "aws_region": "us-west-2"},
        "exhibitor_storage_backend",
        ["s3_bucket", "s3_prefix", "exhibitor_explicit_keys"],
    ),
    (
        "dcos",
        {"exhibitor_storage_backend": "azure", "exhibitor_azure_prefix": ""},
        "exhibitor_storage_backend",
        ["exhibitor_azure_account_name", "exhibitor_azure_account_key", "exhibitor_azure_prefix"],
    ),
    (
        "dcos",
        {"exhibitor_zk_hosts": "10.0.0.5:2181"},
        "exhibitor_zk_hosts",
        ["unset (static)", "exhibitor_storage_backend=zookeeper"],
    ),
    (
        "dcos",
        {
            "exhibitor_storage_backend": "azure",
            "exhibitor_azure_account_name": "acct",
            "exhibitor_azure_account_key": "key",
            "exhibitor_azure_prefix": "dcos",
            "s3_bucket": "bucket",
        },
        "s3_bucket",
        ["is azure", "exhibitor_storage_backend=aws_s3"],
    ),
    (
        "dcos",
        {
            "exhibitor_storage_backend": "aws_s3",
            "aws_region": "us-west-2",
            "s3_bucket": "bucket",
            "s3_prefix": "dcos",
            "exhibitor_explicit_keys": "true",
            "aws_access_key_id": "AKIAEXAMPLE",
        },
        "exhibitor_explicit_keys",
        ["aws_secret_access_key"],
    ),
    ("dcos", {"exhibitor_zk_hosts": "zk://10.0.0.5:2181"}, "exhibitor_zk_hosts", ["zk://"]),
    ("dcos", {"exhibitor_zk_hosts": "10.0.0.5"}, "exhibitor_zk_hosts", ["host:port"]),
    ("dcos", {"exhibitor_zk_hosts": "10.0.0.5:99999"}, "exhibitor_zk_hosts", ["host:port"]),
    ("dcos", {"exhibitor_zk_hosts": " , "}, "exhibitor_zk_hosts", ["host:port pairs"]),
    ("dcos", {"exhibitor_zk_path": "dcos"}, "exhibitor_zk_path", ["absolute"]),
    ("dcos", {"dcos_overlay_network": "{vtep"}, "dcos_overlay_network", ["not valid JSON"]),
    (
        "dcos",
        {"dcos_overlay_network": overlay(vtep_mac_oui=None)},
        "dcos_overlay_network",
        ["vtep_subnet, vtep_mac_oui, overlays"],
    ),
    (
        "dcos",
        {"dcos_overlay_network": overlay(vtep_subnet="44.128.0.0")},
        "dcos_overlay_network",
        ["vtep_subnet"],
    ),
    (
        "dcos",
        {"dcos_overlay_network": overlay(vtep_mac_oui="70:B3:D5")},
        "dcos_overlay_network",
        ["vtep_mac_oui"],
    ),
    ("dcos", {"dcos_overlay_network": overlay(overlays=[])}, "dcos_overlay_network", ["empty"]),
    (
        "dcos",
        {
            "dcos_overlay_network": overlay(
                overlays=[{"name": "a-very-long-name", "subnet": "9.0.0.0/8", "prefix": 24}]
            )
        },
        "dcos_overlay_network",
        ["1 to 13 characters"],
    ),
    (
        "dcos",
        {
            "dcos_overlay_network": overlay(
                overlays=[
                    {"name": "dcos", "subnet": "9.0.0.0/8", "prefix": 24},
                    {"name": "dcos", "subnet": "10.0.0.0/8", "prefix": 24},
                ]
            )
        },
        "dcos_overlay_network",
        ["overlays[1].name", "unique"],
    ),
    (
        "dcos",
        {"dcos_overlay_network": overlay(overlays=[{"name": "x", "subnet": "9.0.0.1/8"}])},
        "dcos_overlay_network",
        ["overlays[0].subnet", "'9.0.0.0/8'"],
    ),
    (
        "dcos",
        {
            "dcos_overlay_network": overlay(
                overlays=[{"name": "x", "subnet": "9.0.0.0/8", "prefix": "24"}]
            )
        },
        "dcos_overlay_network",
        ["overlays[0].prefix", "from 9 to 30"],
    ),
    (
        "dcos",
        {"dcos_overlay_network": overlay(overlays=[{"name": "x", "subnet": "9.0.0.0/24"}])},
        "dcos_overlay_network",
        ["overlays[0].prefix", "from 25 to 30"],
    ),
    (
        "dcos",
        {"dcos_overlay_enable": "false", "dcos_overlay_mtu": "1400"},
        "dcos_overlay_mtu",
        ["dcos_overlay_enable", "dcos_overlay_enable=true"],
    ),
    (
        "dcos",
        {"dcos_overlay_enable": "no", "dcos_overlay_network": overlay()},
        "dcos_overlay_network",
        ["dcos_overlay_enable"],
    ),
    ("dcos", {"dcos_overlay_mtu": "500"}, "dcos_overlay_mtu", ["from 552 to 65535"]),
    ("dcos", {"dcos_overlay_config_attempts": "11"}, "dcos_overlay_config_attempts", ["0 to 10"]),
    ("dcos", {"dns_search": "a.com,b.com"}, "dns_search", ["spaces"]),
    ("dcos", {"dns_search": "a.com\tb.com"}, "dns_search", ["spaces"]),
    ("dcos", {"dns_search": "a b c d e f g"}, "dns_search", ["at most 6 domains"]),
    ("dcos", {"dns_search": "bad_domain.com"}, "dns_search", ["'bad_domain.com'"]),
    ("dcos", {"docker_remove_delay": "0"}, "docker_remove_delay", ["1 or more"]),
    ("dcos", {"gc_delay": "2days"}, "gc_delay", ["whole number"]),
    ("dcos", {"process_timeout": "-1"}, "process_timeout", ["whole number"]),
    ("dcos", {"log_directory": "genconf/logs"}, "log_directory", ["absolute"]),
]


@pytest.mark.parametrize(("coe", "labels", "label", "fragments"), INVALID)
def test_invalid_labels_are_refused_with_an_actionable_message(
    coe: str, labels: dict[str, str], label: str, fragments: list[str]
) -> None:
    err = refusal(coe, labels)
    assert err.label == label
    assert err.field == f"labels.{label}"
    assert str(err).startswith(f"Invalid label {label}=")
    for fragment in fragments:
        assert fragment in str(err)


def test_invalid_label_is_a_400_invalid_field() -> None:
    err = refusal("kubernetes", {"flannel_backend": "gre"})
    assert isinstance(err, InvalidField)
    assert err.status == 400


# --- allowed values are listed -----------------------------------------------------------------

ALLOWED = [
    ("kubernetes", "flannel_backend", "gre", ("udp", "vxlan", "host-gw")),
    ("swarm", "flannel_backend", "vxlna", ("udp", "vxlan", "host-gw")),
    ("kubernetes", "cgroup_driver", "cgroup", ("systemd", "cgroupfs")),
    ("kubernetes", "container_runtime", "cri-o", ("host-docker", "containerd")),
    ("kubernetes", "ingress_controller", "haproxy", ("traefik", "nginx", "octavia")),
    ("kubernetes", "calico_ipv4pool_ipip", "sometimes", ("Always", "CrossSubnet", "Never", "Off")),
    ("swarm", "swarm_strategy", "fill", ("spread", "binpack", "random")),
    ("swarm-mode", "swarm_strategy", "", ("spread", "binpack", "random")),
    ("dcos", "launcher", "windows", ("linux", "posix")),
    ("dcos", "exhibitor_storage_backend", "consul", ("static", "zookeeper", "aws_s3", "azure")),
    ("dcos", "image_providers", "docker,oci", IMAGE_PROVIDERS),
    ("mesos", "mesos_slave_image_providers", "rkt", IMAGE_PROVIDERS),
    ("mesos", "mesos_slave_isolation", "cgroups/cpu,posix/gpu", ISOLATORS),
    ("dcos", "isolation", "docker/volume, network/weave", ISOLATORS),
    *[(coe, name, "maybe", BOOL) for coe in COES for name in ("auto_healing_enabled",)],
    *[
        (coe, "rexray_preempt", "sometimes", BOOL)
        for coe in ("swarm", "swarm-mode", "mesos", "dcos")
    ],
    *[
        ("kubernetes", name, "enabled", BOOL)
        for name in (
            "kube_dashboard_enabled",
            "influx_grafana_dashboard_enabled",
            "keystone_auth_enabled",
            "master_lb_floating_ip_enabled",
        )
    ],
    *[
        ("dcos", name, "2", BOOL)
        for name in (
            "dcos_overlay_enable",
            "check_time",
            "oauth_enabled",
            "telemetry_enabled",
            "exhibitor_explicit_keys",
        )
    ],
]


@pytest.mark.parametrize(("coe", "label", "value", "allowed"), ALLOWED)
def test_refusal_lists_the_allowed_values(
    coe: str, label: str, value: str, allowed: tuple[str, ...]
) -> None:
    err = refusal(coe, {label: value})
    assert err.label == label
    assert tuple(err.allowed or ()) == allowed
    assert label in str(err)
    assert "Allowed values: " + ", ".join(allowed) + "." in str(err)


def test_refusal_suggests_the_closest_allowed_value() -> None:
    assert "closest is 'vxlan'" in str(refusal("swarm", {"flannel_backend": "vxlna"}))
    assert "closest is 'nginx'" in str(refusal("kubernetes", {"ingress_controller": "Nginx "}))


def test_refusal_of_a_value_that_may_be_empty_says_so() -> None:
    err = refusal("kubernetes", {"ingress_controller": "haproxy"})
    assert "Leave the value empty for none" in str(err)


# --- mesos: image providers need isolators -----------------------------------------------------


@pytest.mark.parametrize(
    ("providers", "isolation"),
    [
        ("docker", "filesystem/linux,docker/runtime"),
        ("docker,appc", "cgroups/cpu, filesystem/linux, docker/runtime"),
        (" DOCKER ", "docker/runtime,filesystem/linux"),
        ("appc", "filesystem/linux"),
        ("", None),
    ],
)
def test_mesos_image_providers_with_their_isolators_are_valid(
    providers: str, isolation: str | None
) -> None:
    labels = {"mesos_slave_image_providers": providers}
    if isolation is not None:
        labels["mesos_slave_isolation"] = isolation
    assert validate_labels("mesos", labels) == LabelCheck(unknown=())


@pytest.mark.parametrize(
    ("providers", "isolation", "needed"),
    [
        # Magnum accepted this one; Mesos refuses to start the agent without filesystem/linux.
        ("docker", "docker/runtime", ("filesystem/linux", "docker/runtime")),
        ("docker", "filesystem/linux", ("filesystem/linux", "docker/runtime")),
        ("docker", None, ("filesystem/linux", "docker/runtime")),
        ("appc,docker", "cgroups/cpu", ("filesystem/linux", "docker/runtime")),
        ("appc", "cgroups/cpu", ("filesystem/linux",)),
    ],
)
def test_mesos_docker_provider_needs_filesystem_linux_and_docker_runtime(
    providers: str, isolation: str | None, needed: tuple[str, ...]
) -> None:
    labels = {"mesos_slave_image_providers": providers}
    if isolation is not None:
        labels["mesos_slave_isolation"] = isolation
    err = refusal("mesos", labels)
    assert err.label == "mesos_slave_image_providers"
    assert "mesos_slave_isolation" in str(err)
    for isolator in needed:
        assert isolator in str(err)


def test_mesos_refusal_suggests_the_completed_isolation() -> None:
    labels = {"mesos_slave_image_providers": "docker", "mesos_slave_isolation": "cgroups/cpu"}
    err = refusal("mesos", labels)
    assert "mesos_slave_isolation=cgroups/cpu,filesystem/linux,docker/runtime" in str(err)


# --- flannel subnet length against the CIDR ----------------------------------------------------

FLANNEL_OK = [
    {"flannel_network_subnetlen": "24"},
    {"flannel_network_subnetlen": "17"},
    {"flannel_network_subnetlen": "30"},
    {"flannel_network_subnetlen": " 26 "},
    {"flannel_network_cidr": "10.0.0.0/8", "flannel_network_subnetlen": "9"},
    {"flannel_network_cidr": "192.168.0.0/24", "flannel_network_subnetlen": "26"},
    {"flannel_network_cidr": "192.168.0.0/23"},
    {"flannel_network_cidr": "172.16.0.0/12", "flannel_backend": "udp"},
]
FLANNEL_BAD = [
    ({"flannel_network_subnetlen": "16"}, "flannel_network_subnetlen", "from 17 to 30"),
    ({"flannel_network_subnetlen": "31"}, "flannel_network_subnetlen", "from 17 to 30"),
    ({"flannel_network_subnetlen": "0"}, "flannel_network_subnetlen", "(the default)"),
    ({"flannel_network_subnetlen": "x"}, "flannel_network_subnetlen", "whole number"),
    (
        {"flannel_network_cidr": "10.0.0.0/8", "flannel_network_subnetlen": "8"},
        "flannel_network_subnetlen",
        "from 9 to 30",
    ),
    (
        {"flannel_network_cidr": "192.168.0.0/24", "flannel_network_subnetlen": "24"},
        "flannel_network_subnetlen",
        "from 25 to 30",
    ),
    (
        {"flannel_network_cidr": "192.168.0.0/24"},
        "flannel_network_cidr",
        "flannel_network_subnetlen",
    ),
    ({"flannel_network_cidr": "10.0.0.0/30"}, "flannel_network_cidr", "too small"),
    ({"flannel_network_cidr": "10.0.0.1/16"}, "flannel_network_cidr", "'10.0.0.0/16'"),
    ({"flannel_network_cidr": "10.0.0.0"}, "flannel_network_cidr", "CIDR"),
    ({"flannel_network_cidr": "10.0.0.0/255.255.0.0"}, "flannel_network_cidr", "CIDR"),
    ({"flannel_network_cidr": "fd00::/64"}, "flannel_network_cidr", "IPv4"),
    ({"flannel_network_cidr": "300.0.0.0/8"}, "flannel_network_cidr", "IPv4"),
]


@pytest.mark.parametrize("coe", ["kubernetes", "swarm"])
@pytest.mark.parametrize("labels", FLANNEL_OK)
def test_flannel_subnetlen_that_fits_the_cidr_is_valid(coe: str, labels: dict[str, str]) -> None:
    assert validate_labels(coe, labels) == LabelCheck(unknown=())


@pytest.mark.parametrize("coe", ["kubernetes", "swarm"])
@pytest.mark.parametrize(("labels", "label", "fragment"), FLANNEL_BAD)
def test_flannel_subnetlen_that_does_not_fit_the_cidr_is_refused(
    coe: str, labels: dict[str, str], label: str, fragment: str
) -> None:
    err = refusal(coe, labels)
    assert err.label == label
    assert fragment in str(err)


# --- unknown labels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coe", "labels", "unknown"),
    [
        (
            "kubernetes",
            {"zeta": "1", "alpha": "", "kube_tag": "v1.30.2", "Beta": "x"},
            ("Beta", "alpha", "zeta"),
        ),
        # Known to another COE only: unknown here, and its value is not checked.
        ("swarm-mode", {"flannel_backend": "nonsense"}, ("flannel_backend",)),
        ("kubernetes", {"mesos_slave_isolation": "bogus", "swarm_strategy": "x"}, None),
        ("mesos", {"isolation": "bogus", "launcher": "x"}, ("isolation", "launcher")),
        ("dcos", {"mesos_slave_work_dir": "relative"}, ("mesos_slave_work_dir",)),
        ("swarm", {"kube_tag": "latest"}, ("kube_tag",)),
        ("mesos", {" padded_unknown ": "x"}, (" padded_unknown ",)),
    ],
)
def test_unknown_labels_are_returned_sorted(
    coe: str, labels: dict[str, str], unknown: tuple[str, ...] | None
) -> None:
    expected = unknown if unknown is not None else tuple(sorted(labels))
    assert validate_labels(coe, labels).unknown == expected


# --- trimming, ordering, secrecy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("coe", "label", "value"),
    [
        ("kubernetes", "flannel_backend", " vxlan "),
        ("kubernetes", "kube_tag", "v1.30.2\n"),
        ("kubernetes", "min_node_count", "\t3"),
        ("kubernetes", "service_cluster_ip_range", " 10.254.0.0/16"),
        ("swarm", "swarm_strategy", " binpack "),
        ("swarm-mode", "rexray_preempt", " True "),
        ("mesos", "mesos_slave_work_dir", " /var/lib/mesos "),
        ("mesos", "mesos_slave_isolation", " cgroups/cpu , cgroups/mem "),
        ("mesos", "mesos_slave_executor_env_variables", ' {"A": "b"} '),
        ("dcos", "launcher", "linux "),
        ("dcos", "exhibitor_storage_backend", " static"),
        ("dcos", "dcos_overlay_mtu", " 1420 "),
    ],
)
def test_surrounding_whitespace_in_values_is_ignored(coe: str, label: str, value: str) -> None:
    assert validate_labels(coe, {label: value}) == LabelCheck(unknown=())


def test_first_bad_label_by_name_is_reported() -> None:
    labels = {"kube_tag": "bad", "cgroup_driver": "bad", "ingress_controller": "bad"}
    assert refusal("kubernetes", labels).label == "cgroup_driver"


def test_value_errors_are_reported_before_cross_label_errors() -> None:
    # The providers rule would fail too, but the isolation value itself is bad.
    labels = {"mesos_slave_image_providers": "docker", "mesos_slave_isolation": "bogus"}
    assert refusal("mesos", labels).label == "mesos_slave_isolation"


def test_refusal_keeps_the_value_as_given() -> None:
    err = refusal("swarm", {"swarm_strategy": " fill "})
    assert err.value == " fill "


@pytest.mark.parametrize(
    ("coe", "labels", "label"),
    [
        ("dcos", {"aws_secret_access_key": "s3cr3t-value"}, "aws_secret_access_key"),
        ("dcos", {"exhibitor_azure_account_key": "s3cr3t-value"}, "exhibitor_azure_account_key"),
    ],
)
def test_refusal_never_echoes_a_secret_value(coe: str, labels: dict[str, str], label: str) -> None:
    err = refusal(coe, labels)
    assert err.label == label
    assert "s3cr3t-value" not in str(err)
    assert err.value != "s3cr3t-value"


# --- schemas -----------------------------------------------------------------------------------


@pytest.mark.parametrize("coe", COES)
def test_label_specs_are_sorted_unique_and_documented(coe: str) -> None:
    specs = label_specs(coe)
    names = [spec.name for spec in specs]
    assert names == sorted(set(names))
    for spec in specs:
        assert spec.description.endswith("."), spec.name
        if spec.default is not None and spec.check is not None:
            spec.check(spec.default)  # a default must pass its own check


@pytest.mark.parametrize(
    ("coe", "expected"),
    [
        ("kubernetes", {"flannel_backend", "kube_tag", "ingress_controller", "min_node_count"}),
        ("swarm", {"flannel_network_cidr", "swarm_strategy", "rexray_preempt"}),
        ("swarm-mode", {"swarm_strategy", "docker_volume_type", "rexray_preempt"}),
        ("mesos", {"mesos_slave_isolation", "mesos_slave_executor_env_variables"}),
        ("dcos", {"isolation", "launcher", "image_providers", "exhibitor_storage_backend"}),
    ],
)
def test_label_specs_cover_the_coe_labels(coe: str, expected: set[str]) -> None:
    assert expected <= {spec.name for spec in label_specs(coe)}


def test_flannel_labels_belong_to_kubernetes_and_swarm_only() -> None:
    for coe in COES:
        has_flannel = "flannel_backend" in {spec.name for spec in label_specs(coe)}
        assert has_flannel == (coe in ("kubernetes", "swarm"))


def test_dcos_and_mesos_share_one_isolator_list() -> None:
    by_coe = {coe: {spec.name: spec for spec in label_specs(coe)} for coe in ("mesos", "dcos")}
    assert by_coe["mesos"]["mesos_slave_isolation"].allowed == ISOLATORS
    assert by_coe["dcos"]["isolation"].allowed == ISOLATORS


def test_finite_labels_document_their_allowed_values() -> None:
    specs = {spec.name: spec for spec in label_specs("kubernetes")}
    assert specs["flannel_backend"].allowed == ("udp", "vxlan", "host-gw")
    assert specs["flannel_backend"].default == "udp"
    assert specs["ingress_controller"].allowed == ("", "traefik", "nginx", "octavia")
    assert specs["auto_healing_enabled"].allowed == BOOL
    assert specs["kube_tag"].allowed is None


@pytest.mark.parametrize(
    ("coe", "name"),
    [
        (coe, spec.name)
        for coe in COES
        for spec in label_specs(coe)
        if spec.allowed is not None and spec.check is not None
    ],
)
def test_every_finite_label_lists_its_allowed_values_when_refused(coe: str, name: str) -> None:
    spec = next(spec for spec in label_specs(coe) if spec.name == name)
    err = refusal(coe, {name: "bogus-value"})
    listed = tuple(value for value in spec.allowed or () if value != "")
    assert err.label == name
    assert tuple(err.allowed or ()) == listed
    assert name in str(err)
    assert "Allowed values: " + ", ".join(listed) + "." in str(err)


@pytest.mark.parametrize("call", [label_specs, lambda coe: validate_labels(coe, {})])
def test_unknown_coe_is_a_programming_error(call: Callable[[str], object]) -> None:
    with pytest.raises(ValueError, match="unknown COE"):
        call("nomad")


# --- property: nothing but InvalidLabel escapes ------------------------------------------------

_NAMES = sorted({spec.name for coe in COES for spec in label_specs(coe)})
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_OVERLAY_SHAPES = st.fixed_dictionaries(
    {
        "vtep_subnet": st.sampled_from(["44.128.0.0/20", "x", 5]),
        "vtep_mac_oui": st.sampled_from(["70:B3:D5:00:00:00", None]),
        "overlays": st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=15), "subnet": st.sampled_from(["9.0.0.0/8", 1])},
                optional={"prefix": st.integers(-1, 40) | st.text(max_size=3)},
            )
            | _JSON,
            max_size=3,
        ),
    }
)
_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "true",
            "posix",
            "docker",
            "docker,appc",
            "zookeeper",
            "aws_s3",
            "azure",
            "10.0.0.0/8",
            "10.0.0.0/31",
            "24",
            "-1",
            "9" * 5000,
            "[" * 5000,
            "filesystem/linux,docker/runtime",
            "docker/volume,posix/disk",
            "10.0.0.5:2181",
            "/abs/path",
        ]
    ),
    _JSON.map(json.dumps),
    _OVERLAY_SHAPES.map(json.dumps),
)
_LABELS = st.dictionaries(
    # Mostly real names: a padded name is refused before any value is looked at.
    st.one_of(*[st.sampled_from(_NAMES)] * 4, st.sampled_from(_NAMES).map(" {}".format), st.text()),
    _VALUES,
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(coe=st.sampled_from(COES), labels=_LABELS)
def test_validate_labels_raises_nothing_but_invalid_label(coe: str, labels: dict[str, str]) -> None:
    try:
        result = validate_labels(coe, labels)
    except InvalidLabel as err:
        assert err.label in labels
        assert str(err).startswith("Invalid label ")
    else:
        assert result.unknown == tuple(sorted(result.unknown))
        assert set(result.unknown) <= set(labels)
