"""``cove catalog`` and ``cove app``: the real command against a real ``cove serve``. The
catalog's packages and their options for people; a package installed with options from a
file and ``--set`` (typed by its schema), followed until ready; its secret option never
shown; unknown packages and bad options refused naming them, with nothing made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Cove, unique

PASSWORD = "adm-9c1f0e-never-shown"


@pytest.fixture(scope="module")
def cluster(cove: Cove, world: dict[str, str]) -> Any:
    name = unique("cat")
    made = cove.json(f"cluster create {name} --template {world['slow']} --labels slow_seconds=0")
    yield made
    cove(f"cluster delete {made['uuid']} --no-wait", code=None)


def test_catalog_list_names_each_package_with_its_version(cove: Cove) -> None:
    rows = {
        line.split()[0]: line.split()[1:4] for line in cove("catalog list").stdout.splitlines()[2:]
    }
    assert rows["etcd"] == ["1.1.0", "1.0.0,", "1.1.0"]  # the newest, then every version
    assert rows["keystone"][:2] == ["1.0.0", "1.0.0"]
    assert rows["three-tier"][:2] == ["1.1.0", "1.1.0"]
    assert list(rows) == ["etcd", "keystone", "three-tier"]
    table = cove("catalog list").stdout
    assert "MariaDB and memcached.  " in table  # the first sentence, whole, for people
    listed = cove.json("catalog list")
    keystone = next(p for p in listed if p["name"] == "keystone")
    assert keystone["images"] == [
        "cove/app-mariadb:10.11", "cove/app-memcached:1.6", "cove/app-keystone:22",
    ]  # fmt: skip
    assert keystone["description"].startswith("OpenStack Identity (keystone)")


def test_catalog_show_renders_the_options_with_defaults(cove: Cove) -> None:
    out = cove("catalog show keystone").stdout
    lines = out.splitlines()
    assert lines[:2] == ["keystone 1.0.0", "versions: 1.0.0"]
    assert "images: cove/app-mariadb:10.11, cove/app-memcached:1.6, cove/app-keystone:22" in lines
    options = {line.split()[0]: line for line in lines[lines.index("options:") + 3 :]}
    assert list(options) == ["admin_password", "region", "replicas", "public_port"]
    assert options["admin_password"].split()[1:3] == ["string", "yes"]
    assert options["admin_password"].endswith("Default). [secret, min length 12]")
    assert options["replicas"].split()[1:3] == ["integer", "1"]
    assert options["replicas"].endswith("at most. [min 1, max 5]")
    assert options["region"].split()[1:3] == ["string", '"RegionOne"']
    whole = cove.json("catalog show keystone")
    assert whole["options_schema"]["required"] == ["admin_password"] and "template" in whole
    missing = cove("catalog show nope", code=1)
    assert missing.error_lines() == [
        "error: Package nope could not be found; the catalog has: etcd, keystone, three-tier."
    ]


def test_install_follows_the_package_until_ready(cove: Cove, cluster: Any, tmp_path: Path) -> None:
    opts = tmp_path / "opts.json"
    opts.write_text(json.dumps({"admin_password": PASSWORD, "public_port": 5001}))
    name = unique("ks")
    result = cove(
        f"app install keystone --cluster {cluster['name']} --name {name} --options {opts} "
        "--set replicas=2 --set region=Lab"
    )
    assert PASSWORD not in result.stdout + result.stderr
    fields = result.fields()
    assert (fields["status"], fields["package"], fields["package_version"]) == (
        "CREATE_COMPLETE", "keystone", "1.0.0",
    )  # fmt: skip
    assert "keystone-bootstrap: done" in result.stderr
    assert f"deployment {name} CREATE_COMPLETE (" in result.stderr
    nodes = cluster["master_addresses"] + cluster["node_addresses"]
    assert result.stderr.rstrip().splitlines()[-1] == (
        "  keystone 5001/tcp " + " ".join(f"{a}:5001" for a in nodes)  # 2 replicas, 2 nodes
    )
    shown = cove.json(f"deployment show {cluster['name']} {name}")
    assert shown["definition"]["services"]["keystone"]["replicas"] == 2  # --set typed: integer
    assert "admin_password" in shown["secret_values"]
    assert PASSWORD not in json.dumps(shown)
    installed = cove.json(f"app list --cluster {cluster['name']}")
    assert [(d["name"], d["package"]) for d in installed] == [(name, "keystone")]
    cove(f"deployment delete {cluster['name']} {name}")


def test_install_refuses_bad_options_and_unknown_packages_making_nothing(
    cove: Cove, cluster: Any
) -> None:
    base = f"app install keystone --cluster {cluster['name']}"
    result = cove(f"{base} --set admin_password={PASSWORD} --set replicas=9", code=1)
    [line] = result.error_lines()
    assert "replicas" in line and "5" in line, line
    assert PASSWORD not in result.stderr
    unknown = cove(f"app install nope --cluster {cluster['name']}", code=1)
    assert unknown.error_lines() == [
        "error: Package nope could not be found; the catalog has: etcd, keystone, three-tier."
    ]
    assert cove.json(f"deployment list {cluster['name']}") == []
    bad = cove(f"{base} --options /nonexistent", code=2)
    assert "cannot read /nonexistent" in bad.stderr


def test_upgrade_moves_an_installed_package_to_another_version(cove: Cove, cluster: Any) -> None:
    name = unique("etcd")
    base = f"--cluster {cluster['name']}"
    first = cove.json(f"app install etcd {base} --name {name} --version 1.0.0")
    assert (first["status"], first["package_version"]) == ("CREATE_COMPLETE", "1.0.0")
    result = cove(f"app upgrade {name} {base} --version 1.1.0 --set compaction_hours=2 -f json")
    upgraded = result.json()
    assert (upgraded["status"], upgraded["package_version"]) == ("UPDATE_COMPLETE", "1.1.0")
    assert "Deploy accepted" not in result.stderr  # only the update's own events
    assert f"deployment {name} UPDATE_COMPLETE (" in result.stderr
    refused = cove(f"app upgrade {name} {base} --version 9.9.9", code=1)
    [line] = refused.error_lines()
    assert "9.9.9" in line and "1.0.0, 1.1.0" in line, line
    cove(f"deployment delete {cluster['name']} {name}")
