"""Bay-era commands (python-magnumclient 3.7.0, the last with ``baymodel-*`` and ``bay-*``)
against cove, including the Open DC/OS spec's command lines
(reference/seeds/000_30300d21560619e2.txt), typed the way a user types them correctly.

Invocation as for the 4.11 shell: ``magnum --os-token x --os-endpoint-override URL/v1 ...``. The
client sends ``OpenStack-API-Version: container-infra latest`` and talks to ``/v1/baymodels`` and
``/v1/bays`` (magnum-api.md §2.9, §6.3). Errors are printed as ``ERROR: b'<title> (HTTP nnn)'``.
"""

from __future__ import annotations

import shlex
import time

import pytest

from .conftest import STATUS_TIMEOUT, Api, Cli, Result, literal, unique

pytestmark = pytest.mark.compat

DCOS_IMAGE = "dcos-centos-7.2"
DCOS_KEYPAIR = "testkey"
DCOS_NETWORK = "1hsdhs88sddds889"
DCOS_LABELS = {"isolation": "docker/volume", "launcher": "linux", "image_providers": "docker"}


@pytest.fixture(scope="module")
def dcos_world(api: Api) -> None:
    """What the spec's baymodel-create refers to: the CentOS image, the keypair and the external
    network (flavor m1.small exists by default)."""
    api.ensure("images", {"name": DCOS_IMAGE, "os_distro": "centos"})
    api.ensure("keypairs", {"name": DCOS_KEYPAIR})
    api.ensure("networks", {"name": DCOS_NETWORK, "external": True})


def dcos_baymodel_create(magnum37: Cli, name: str, labels: str, ok: bool | None = True) -> Result:
    """The spec's ``magnum baymodel-create``, with ``--labels`` given as one argument."""
    return magnum37(
        f"baymodel-create --name {name} --image-id {DCOS_IMAGE} --keypair-id {DCOS_KEYPAIR}"
        f" --external-network-id {DCOS_NETWORK} --dns-nameserver 8.8.8.8 --flavor-id m1.small"
        f" --docker-volume-size 5 --coe dcos --labels {shlex.quote(labels)}",
        ok=ok,
    )


def baymodel_names(magnum37: Cli) -> set[str]:
    return {row["name"] for row in magnum37("baymodel-list").table()}


def bay_show_until_settled(magnum37: Cli, bay: str) -> dict[str, str]:
    """``bay-show`` until the status leaves CREATE_IN_PROGRESS (bounded polling)."""
    deadline = time.monotonic() + STATUS_TIMEOUT
    delay = 0.1
    while True:
        props = magnum37(f"bay-show {bay}").props()
        if props["status"] != "CREATE_IN_PROGRESS" or time.monotonic() > deadline:
            return props
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def test_baymodel_and_bay_lifecycle(magnum37: Cli, api: Api, world: dict[str, str]) -> None:
    baymodel = unique("bm")
    out = magnum37(
        f"baymodel-create --name {baymodel} --image-id {world['image']}"
        f" --keypair-id {world['keypair']} --external-network-id {world['network']}"
        f" --flavor-id {world['flavor']} --master-flavor-id {world['flavor']}"
        " --docker-volume-size 5 --coe kubernetes --labels a=1"
    )
    created = out.props()
    assert created["name"] == baymodel
    assert created["coe"] == "kubernetes"
    assert created["image_id"] == world["image"]
    assert literal(created["labels"]) == {"a": "1"}
    assert created["docker_storage_driver"] == "devicemapper"  # the 3.7 default
    bm_uuid = created["uuid"]

    listed = magnum37("baymodel-list").table()
    assert {"uuid": bm_uuid, "name": baymodel} in listed

    bay = unique("bay")
    out = magnum37(f"bay-create --name {bay} --baymodel {baymodel} --node-count 1")
    # a refused bay-create prints "Create for bay ... failed: ..." and still exits 0
    assert "Request to create bay" in out.stdout, out.describe()
    assert "has been accepted" in out.stdout, out.describe()
    uuid = out.stdout.split("Request to create bay", 1)[1].split()[0]
    settled = api.settled(f"/v1/bays/{uuid}")
    assert settled["status"] == "CREATE_COMPLETE", settled

    listed = magnum37("bay-list").table()
    row = next(r for r in listed if r["name"] == bay)
    assert row["uuid"] == uuid
    assert (row["node_count"], row["master_count"], row["status"]) == ("1", "1", "CREATE_COMPLETE")

    shown = magnum37(f"bay-show {bay}").props()
    assert shown["uuid"] == uuid
    assert shown["baymodel_id"] == bm_uuid
    assert shown["bay_create_timeout"] == "60"
    assert shown["status"] == "CREATE_COMPLETE"

    out = magnum37(f"bay-update {bay} replace node_count=2")
    assert f"Request to update bay {bay} has been accepted." in out.stdout, out.describe()
    assert api.settled(f"/v1/bays/{uuid}")["node_count"] == 2
    assert magnum37(f"bay-show {uuid}").props()["node_count"] == "2"

    out = magnum37(f"bay-delete {bay}")
    assert f"Request to delete bay {bay} has been accepted." in out.stdout, out.describe()
    api.gone(f"/v1/bays/{uuid}")
    missing = magnum37(f"bay-show {bay}", ok=False)
    assert "could not be found" in missing.stderr, missing.describe()

    out = magnum37(f"baymodel-delete {baymodel}")
    assert f"Request to delete baymodel {baymodel} has been accepted." in out.stdout
    assert baymodel not in baymodel_names(magnum37)


def test_dcos_spec_command_lines(magnum37: Cli, dcos_world: None) -> None:
    """The spec's two command lines: the baymodel is accepted with its labels; the bay is
    accepted and then fails, because no driver serves (vm, centos, dcos)."""
    out = dcos_baymodel_create(
        magnum37, "dcosbaymodel", "isolation=docker/volume,launcher=linux,image_providers=docker"
    )
    created = out.props()
    assert created["name"] == "dcosbaymodel"
    assert created["coe"] == "dcos"
    assert created["cluster_distro"] == "centos"
    assert literal(created["labels"]) == DCOS_LABELS
    assert created["keypair_id"] == DCOS_KEYPAIR
    assert created["external_network_id"] == DCOS_NETWORK
    assert created["dns_nameserver"] == "8.8.8.8"
    assert created["docker_volume_size"] == "5"

    out = magnum37("bay-create --name dcosbay --baymodel dcosbaymodel --node-count 1")
    assert "Request to create bay" in out.stdout, out.describe()
    assert "has been accepted" in out.stdout, out.describe()

    shown = bay_show_until_settled(magnum37, "dcosbay")
    assert shown["status"] == "CREATE_FAILED", shown
    reason = shown["status_reason"]
    assert "(vm, centos, dcos)" in reason, reason
    assert "driver" in reason.lower() or "not supported" in reason.lower(), reason
    assert shown["node_count"] == "1"


def test_dcos_labels_with_spaces_after_commas(magnum37: Cli, dcos_world: None) -> None:
    """``--labels "isolation=docker/volume, launcher=linux, image_providers=docker"`` as one
    argument (the spec prints it with spaces): the client splits on commas only, so the keys
    arrive as " launcher" and " image_providers". Magnum stored such keys silently and no driver
    ever read them. Either outcome is fine for a user as long as it is not silent: the labels are
    stored trimmed, or the call is refused with a message that names the whitespace, and then
    no baymodel is left behind."""
    name = unique("dcos-spaced")
    out = dcos_baymodel_create(
        magnum37, name, "isolation=docker/volume, launcher=linux, image_providers=docker", ok=None
    )
    if out.returncode == 0:
        assert literal(out.props()["labels"]) == DCOS_LABELS
        return
    assert "whitespace" in out.stderr, out.describe()
    assert "launcher" in out.stderr or "image_providers" in out.stderr, out.describe()
    assert "(HTTP 400)" in out.stderr, out.describe()
    assert name not in baymodel_names(magnum37)


def test_dcos_bad_label_is_refused(magnum37: Cli, dcos_world: None) -> None:
    name = unique("dcos-bad")
    refused = dcos_baymodel_create(
        magnum37, name, "isolation=docker/volume,launcher=kernel,image_providers=docker", ok=False
    )
    # the shell prints only the error's title: label, bad value and allowed values must be there
    assert "launcher" in refused.stderr, refused.describe()
    assert "kernel" in refused.stderr, refused.describe()
    assert "linux" in refused.stderr and "posix" in refused.stderr, refused.describe()
    assert "(HTTP 400)" in refused.stderr, refused.describe()
    assert name not in baymodel_names(magnum37)
