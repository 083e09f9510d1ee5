"""Catalog commands (flavor, keypair, network, image), templates, quotas, stats, services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli.conftest import Api, Cove, unique

PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINzmDJrNWOZUdx++xfBLAEeMjqOFn8Om6AEEK2ZsDtqC me@laptop"
)


def test_flavor_create_show_delete(cove: Cove) -> None:
    name = unique("f")
    created = cove.json(f"flavor create {name} --vcpus 2 --ram 1024 --disk 10")
    assert (created["vcpus"], created["ram"], created["disk"]) == (2, 1024, 10)
    assert cove.json(f"flavor show {created['uuid']}")["name"] == name
    assert name in cove("flavor list").stdout
    deleted = cove(f"flavor delete {name}")
    assert f"flavor {name} deleted" in deleted.stderr
    assert cove(f"flavor show {name}", code=1).error_lines()


def test_keypair_from_a_public_key_file(cove: Cove, tmp_path: Path) -> None:
    name = unique("k")
    key_file = tmp_path / "id.pub"
    key_file.write_text(PUBLIC_KEY + "\n")
    created = cove.json(f"keypair create {name} --public-key {key_file}")
    assert created["public_key"] == PUBLIC_KEY
    assert created["fingerprint"] == "65:a4:bf:4d:ec:76:15:29:4e:b3:2b:0b:ef:a8:29:1a"
    rows = cove("keypair list").stdout.splitlines()
    assert any(r.split()[:2] == [name, created["fingerprint"]] for r in rows[2:])
    cove(f"keypair delete {created['uuid']}")
    assert name not in cove("keypair list").stdout


def test_network_with_subnets(cove: Cove) -> None:
    name = unique("n")
    created = cove.json(f"network create {name} --subnet a=10.0.0.0/24 --subnet b=10.0.1.0/24")
    assert [(s["name"], s["cidr"]) for s in created["subnets"]] == [
        ("a", "10.0.0.0/24"),
        ("b", "10.0.1.0/24"),
    ]
    row = next(r for r in cove("network list").stdout.splitlines() if r.startswith(name))
    assert "a=10.0.0.0/24, b=10.0.1.0/24" in row
    listed = cove.json("network list")
    assert next(n for n in listed if n["name"] == name)["subnets"] == created["subnets"]
    cove(f"network delete {name}")


def test_image_catalog_beside_image_build(cove: Cove) -> None:
    name = unique("i")
    created = cove.json(
        f"image create {name} --os-distro instant --property version=2 --node-image ref:1"
    )
    assert created["properties"] == {"version": "2"}
    assert created["node_image"] == "ref:1"
    assert cove.json(f"image show {name}")["uuid"] == created["uuid"]
    commands = cove("image --help").stdout
    for command in ("build", "create", "list", "show", "delete"):
        assert f"\n  {command} " in commands
    cove(f"image delete {name}")


def test_deleting_an_image_in_use_is_refused(cove: Cove, world: dict[str, str]) -> None:
    result = cove("image delete instant-image", code=1)
    assert result.error_lines() == ["error: Image instant-image is used by cluster templates."]


def test_delete_several_continues_past_a_refusal(cove: Cove) -> None:
    kept = unique("f")
    cove(f"flavor create {kept} --vcpus 1 --ram 64 --disk 0 -f json")
    result = cove(f"flavor delete no-such-flavor {kept}", code=1)
    assert len(result.error_lines()) == 1 and "no-such-flavor" in result.error_lines()[0]
    assert f"flavor {kept} deleted" in result.stderr


def test_template_update_set_unset_and_labels(cove: Cove, world: dict[str, str]) -> None:
    name = unique("t")
    cove(
        f"template create {name} --coe swarm-mode --image instant-image --http-proxy http://p:1 "
        "-f json"
    )
    updated = cove.json(
        f"template update {name} --set flavor_id=m1.medium --unset http_proxy "
        "--set labels=auto_healing_enabled=true,swarm_strategy=spread"
    )
    assert updated["flavor_id"] == "m1.medium"
    assert updated["http_proxy"] is None
    assert updated["labels"] == {"auto_healing_enabled": "true", "swarm_strategy": "spread"}
    one = cove.json(f"template update {name} --set labels.swarm_strategy=binpack")
    assert one["labels"]["swarm_strategy"] == "binpack"
    public = cove.json(f"template update {name} --set public=true")
    assert public["public"] is True
    nothing = cove(f"template update {name}", code=2)
    assert "nothing to change" in nothing.stderr
    cove(f"template delete {name}")
    assert cove(f"template show {name}", code=1).error_lines()


def test_template_in_use_cannot_be_deleted(cove: Cove, cluster: dict[str, Any]) -> None:
    result = cove("template delete tpl", code=1)
    (line,) = result.error_lines()
    assert "tpl" in line or cluster["cluster_template_id"] in line


def test_quota_lifecycle(cove: Cove) -> None:
    project = unique("p")
    created = cove.json(f"quota create --project {project} --resource Cluster --hard-limit 3")
    assert (created["project_id"], created["hard_limit"]) == (project, 3)
    assert cove.json(f"quota update {project} --hard-limit 5")["hard_limit"] == 5
    assert cove.json(f"quota show {project}")["hard_limit"] == 5
    rows = cove("quota list --all-projects").stdout.splitlines()
    assert any(r.split() == [project, "Cluster", "5"] for r in rows)
    cove(f"quota delete {project}")
    again = cove(f"quota delete {project}", code=1)
    assert "could not be found" in again.error_lines()[0]


def test_stats_count_clusters_and_nodes(cove: Cove, api: Api, cluster: dict[str, Any]) -> None:
    stats = cove.json("stats")
    expected = api.get("stats").json()
    assert stats == expected
    assert stats["clusters"] >= 1 and stats["nodes"] >= 2
    assert cove.json("stats --project nobody") == {"clusters": 0, "nodes": 0}
    table = cove("stats").stdout
    assert "clusters" in table and "nodes" in table


def test_service_list_shows_the_conductor(cove: Cove) -> None:
    services = cove.json("service list")
    assert [(s["binary"], s["state"]) for s in services] == [("magnum-conductor", "up")]
    assert "magnum-conductor" in cove("service list").stdout
