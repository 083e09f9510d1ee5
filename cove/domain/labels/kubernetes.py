"""Kubernetes labels: flannel's, plus the Magnum Kubernetes labels whose meaning and type are
clear from Magnum's user guide and Heat templates. Labels left out stay accepted as unknown."""

from __future__ import annotations

import re
from collections.abc import Mapping

from cove.domain.labels._core import (
    BOOL_ALLOWED,
    LabelSpec,
    Refused,
    Schema,
    boolean,
    integer,
    ipv4_network,
    one_of,
    parse_ipv4_network,
)
from cove.domain.labels.flannel import FLANNEL

# Kubernetes release tags, optionally with a build suffix (Magnum's own default is
# v1.23.3-rancher1). Image tags carry the leading "v".
_KUBE_TAG = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z][0-9A-Za-z.+-]*)?")

CGROUP_DRIVERS = ("systemd", "cgroupfs")
# Magnum's container_runtime: empty or host-docker uses the Docker engine of the image.
CONTAINER_RUNTIMES = ("", "host-docker", "containerd")
INGRESS_CONTROLLERS = ("", "traefik", "nginx", "octavia")
CALICO_IPIP_MODES = ("Always", "CrossSubnet", "Never", "Off")


def _kube_tag(value: str) -> None:
    if not _KUBE_TAG.fullmatch(value):
        raise Refused(
            f"{value!r} is not a Kubernetes release tag. Use a tag such as v1.30.2 "
            "(a suffix such as -rancher1 is allowed)."
        )


def _service_range_apart(value: str, labels: Mapping[str, str]) -> None:
    # Services and pods routed through the same addresses break in-cluster traffic.
    services = parse_ipv4_network(value)
    for pods in ("flannel_network_cidr", "calico_ipv4pool"):
        if pods in labels and services.overlaps(parse_ipv4_network(labels[pods])):
            raise Refused(
                f"It overlaps the pod network {pods}={labels[pods]}. "
                "Choose service and pod networks that do not overlap."
            )


def _bool(name: str, description: str, default: str | None) -> LabelSpec:
    return LabelSpec(name, description, BOOL_ALLOWED, default, check=boolean)


def _text(name: str, description: str, default: str | None = None) -> LabelSpec:
    return LabelSpec(name, description, None, default)


def _tag(name: str, image: str) -> LabelSpec:
    return _text(name, f"The image tag of {image} to run; unset uses the driver's default.")


_SPECS = (
    LabelSpec(
        "kube_tag",
        "The Kubernetes release to install, as an image tag such as v1.30.2.",
        check=_kube_tag,
    ),
    LabelSpec(
        "cgroup_driver",
        "The cgroup driver kubelet uses; it should match the container runtime's.",
        CGROUP_DRIVERS,
        "cgroupfs",
        check=one_of(*CGROUP_DRIVERS, what="cgroup driver"),
    ),
    LabelSpec(
        "container_runtime",
        "The container runtime: host-docker (or empty) uses the image's Docker engine, "
        "containerd installs containerd.",
        CONTAINER_RUNTIMES,
        "host-docker",
        check=one_of(*CONTAINER_RUNTIMES, what="container runtime"),
    ),
    LabelSpec(
        "calico_ipv4pool",
        "The IPv4 network, in CIDR form, that calico assigns pod addresses from.",
        None,
        "192.168.0.0/16",
        check=ipv4_network,
    ),
    LabelSpec(
        "calico_ipv4pool_ipip",
        "The IP-in-IP encapsulation mode of calico's pod address pool.",
        CALICO_IPIP_MODES,
        "Off",
        check=one_of(*CALICO_IPIP_MODES, what="calico IPIP mode"),
    ),
    LabelSpec(
        "service_cluster_ip_range",
        "The IPv4 network, in CIDR form, that Kubernetes assigns service addresses from.",
        None,
        "10.254.0.0/16",
        check=ipv4_network,
    ),
    LabelSpec(
        "ingress_controller",
        "The ingress controller to deploy; empty deploys none.",
        INGRESS_CONTROLLERS,
        "",
        check=one_of(*INGRESS_CONTROLLERS, what="ingress controller"),
    ),
    LabelSpec(
        "etcd_volume_size",
        "Size in GB of a Cinder volume for etcd's data on each master; 0 keeps it on the root "
        "disk.",
        None,
        "0",
        check=integer(),
    ),
    _bool("kube_dashboard_enabled", "Whether the Kubernetes dashboard is deployed.", "true"),
    _bool(
        "influx_grafana_dashboard_enabled",
        "Whether InfluxDB and Grafana are deployed to store and show heapster's metrics.",
        "false",
    ),
    _bool(
        "keystone_auth_enabled",
        "Whether Kubernetes authenticates and authorises users against Keystone.",
        None,
    ),
    _bool(
        "master_lb_floating_ip_enabled",
        "Whether the masters' load balancer gets a floating IP; unset follows floating_ip_enabled.",
        None,
    ),
    _bool("prometheus_monitoring", "Whether Prometheus and Grafana monitoring is deployed.", None),
    _bool(
        "cloud_provider_enabled",
        "Whether the OpenStack cloud provider runs (it needs a trust for the cluster user).",
        None,
    ),
    _bool("cert_manager_api", "Whether the Kubernetes certificate-signing API is enabled.", None),
    _text("admission_control_list", "A comma-separated list of admission plugins to enable."),
    _text("ingress_controller_role", "The node role that runs the ingress controller.", "ingress"),
    _text("kubelet_options", "Extra command-line options for kubelet."),
    _text("kubeapi_options", "Extra command-line options for kube-apiserver."),
    _text("kubeproxy_options", "Extra command-line options for kube-proxy."),
    _text("kubecontroller_options", "Extra command-line options for kube-controller-manager."),
    _text("kubescheduler_options", "Extra command-line options for kube-scheduler."),
    LabelSpec("grafana_admin_passwd", "The Grafana admin password.", secret=True),
    _tag("etcd_tag", "etcd"),
    _tag("flannel_tag", "flannel"),
    _tag("calico_tag", "calico-node"),
    _tag("calico_cni_tag", "calico's CNI plugin"),
    _tag("calico_kube_controllers_tag", "calico-kube-controllers"),
    _tag("heat_container_agent_tag", "the Heat container agent"),
    _tag("prometheus_tag", "Prometheus"),
    _tag("grafana_tag", "Grafana"),
    _tag("cloud_provider_tag", "the OpenStack cloud controller manager"),
    _tag("k8s_keystone_auth_tag", "k8s-keystone-auth"),
    _tag("octavia_ingress_controller_tag", "the Octavia ingress controller"),
)

KUBERNETES = FLANNEL + Schema(
    specs=_SPECS, rules=(("service_cluster_ip_range", _service_range_apart),)
)
