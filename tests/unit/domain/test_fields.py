from __future__ import annotations

import pytest

from cove import errors
from cove.domain import fields, upgrades
from cove.domain.coes import Coe


@pytest.mark.parametrize(
    ("coe", "driver", "ok"),
    [
        (Coe.KUBERNETES, "flannel", True),
        (Coe.KUBERNETES, "calico", True),
        (Coe.KUBERNETES, "docker", False),
        (Coe.SWARM, "flannel", True),
        (Coe.SWARM, "docker", True),
        (Coe.SWARM_MODE, "docker", True),
        (Coe.SWARM_MODE, "flannel", False),
        (Coe.MESOS, "docker", True),
        (Coe.MESOS, "flannel", False),
    ],
)
def test_network_driver_matrix(coe: Coe, driver: str, ok: bool) -> None:
    if ok:
        assert fields.network_driver(coe, driver) == driver
    else:
        with pytest.raises(errors.InvalidField, match="Allowed values") as info:
            fields.network_driver(coe, driver)
        assert info.value.field == "network_driver"


def test_network_driver_defaults_per_coe() -> None:
    assert fields.network_driver(Coe.KUBERNETES, None) == "flannel"
    assert fields.network_driver(Coe.SWARM_MODE, None) == "docker"


@pytest.mark.parametrize("value", ["8.8.8.8", "8.8.8.8,1.1.1.1", "2001:db8::1"])
def test_dns_accepts_ip_lists(value: str) -> None:
    fields.check_dns_nameserver(value)


@pytest.mark.parametrize("value", ["dns.example", "8.8.8.8,,", "300.1.1.1"])
def test_dns_refuses_non_ips(value: str) -> None:
    with pytest.raises(errors.InvalidField, match="dns_nameserver"):
        fields.check_dns_nameserver(value)


@pytest.mark.parametrize("value", ["proxy:3128", "ftp://p", "http://", "http://p:port"])
def test_proxies_must_be_urls(value: str) -> None:
    with pytest.raises(errors.InvalidField, match="http_proxy"):
        fields.check_proxy("http_proxy", value)


def test_devicemapper_needs_no_volume() -> None:
    # magnumclient 3.7/4.11 send devicemapper with no volume size; cove serves it as overlay2.
    fields.check_storage("devicemapper", 3)
    fields.check_storage("devicemapper", None)
    with pytest.raises(errors.InvalidField, match="overlay2"):
        fields.check_storage("aufs2", 5)


@pytest.mark.parametrize(
    ("count", "lb", "ok"),
    [(1, False, True), (3, True, True), (3, False, False), (2, True, False), (9, True, False)],
)
def test_master_count(count: int, lb: bool, ok: bool) -> None:
    if ok:
        fields.check_master_count(Coe.SWARM_MODE, count, lb)
    else:
        with pytest.raises(errors.InvalidField, match="master_count"):
            fields.check_master_count(Coe.SWARM_MODE, count, lb)


def test_upgrade_refuses_lower_versions_only() -> None:
    upgrades.check_upgrade({"kube_tag": "v1.29.0"}, {"kube_tag": "v1.30.1"}, {}, {})
    upgrades.check_upgrade({"kube_tag": "latest"}, {"kube_tag": "v1.0"}, {}, {})
    with pytest.raises(errors.InvalidRequest, match="kube_tag"):
        upgrades.check_upgrade({"kube_tag": "v1.30.0"}, {"kube_tag": "v1.29.9"}, {}, {})
    with pytest.raises(errors.InvalidRequest, match="image version"):
        upgrades.check_upgrade({}, {}, {"version": "2"}, {"version": "1.9"})
