"""Keystone mode against a real Keystone: cove validates every token itself, so identity
headers a client sends change nothing; tokens that are missing, bogus, unscoped, revoked or
expired get Magnum's 401 (Senlin's on /clustering); Keystone down is a 503 saying so; and the
cross-project matrix holds through real tokens of members, readers and administrators."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.identity.conftest import LATEST, TOKEN_CACHE_SECONDS, People
from tests.support import keystone as ks
from tests.support.server import COVE

AsUser = Callable[[ks.User], httpx.Client]
UNAUTHORIZED = "The request you have made requires authentication."


def _unauthorized(resp: httpx.Response, keystone: ks.Keystone) -> None:
    assert resp.status_code == 401, resp.text
    [error] = resp.json()["errors"]
    assert error["detail"] == UNAUTHORIZED and error["status"] == 401
    assert resp.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.auth_url}"'
    assert resp.headers["x-openstack-request-id"].startswith("req-")


def _until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@pytest.fixture(scope="module")
def world(as_user: AsUser, people: People) -> dict[str, str]:
    """Project A's private template and cluster (made by its member), its quota (set by an
    administrator)."""
    admin = as_user(people.a_admin)
    made = admin.post("/v1/images", json={"name": "instant-image", "os_distro": "instant"})
    assert made.status_code in (200, 201), made.text
    member = as_user(people.a_member)
    assert member.post("/v1/keypairs", json={"name": "a-key"}).status_code in (200, 201)
    template = {
        "name": "a-template", "coe": "swarm-mode", "image_id": "instant-image",
        "external_network_id": "public", "keypair_id": "a-key", "public": False,
    }  # fmt: skip
    made = member.post("/v1/clustertemplates", json=template)
    assert made.status_code == 201, made.text
    made = member.post(
        "/v1/clusters",
        json={"name": "a-cluster", "cluster_template_id": "a-template", "keypair": "a-key"},
    )
    assert made.status_code == 202, made.text
    cluster = made.json()["uuid"]
    assert _until(
        lambda: member.get(f"/v1/clusters/{cluster}").json()["status"] == "CREATE_COMPLETE", 30
    )
    quota = {"project_id": people.a_member.project_id, "resource": "Cluster", "hard_limit": 5}
    assert admin.post("/v1/quotas", json=quota).status_code == 201
    return {"cluster": cluster}


def test_requests_without_a_valid_token_get_magnums_401(
    cove_url: str, keystone: ks.Keystone, people: People
) -> None:
    headers = {**LATEST}
    _unauthorized(httpx.get(f"{cove_url}/v1/clusters", headers=headers), keystone)
    bogus = {**LATEST, "X-Auth-Token": "gAAAAABbogus"}
    _unauthorized(httpx.get(f"{cove_url}/v1/clusters", headers=bogus), keystone)
    # an unscoped token proves who the user is, not a project: refused as well
    unscoped = keystone.token(people.a_member.name, people.a_member.password)
    resp = httpx.get(f"{cove_url}/v1/clusters", headers={**LATEST, "X-Auth-Token": unscoped})
    assert resp.status_code == 401, resp.text
    # Senlin's routes answer in Senlin's body
    resp = httpx.get(f"{cove_url}/clustering/v1/clusters")
    assert resp.status_code == 401
    assert resp.json()["error"] == {
        "code": 401, "message": UNAUTHORIZED, "type": "HTTPUnauthorized",
    }  # fmt: skip
    # version discovery stays public, as in Magnum and Senlin
    assert httpx.get(f"{cove_url}/").status_code == 200
    assert httpx.get(f"{cove_url}/v1").json()["id"] == "v1"
    assert httpx.get(f"{cove_url}/clustering/").status_code == 300
    for api in ("compute/", "compute/v2.1", "image/", "image/versions", "network/"):
        assert httpx.get(f"{cove_url}/cloud/{api}").status_code == 200, api
    _unauthorized(httpx.get(f"{cove_url}/cloud/compute/v2.1/flavors"), keystone)
    _unauthorized(httpx.get(f"{cove_url}/cloud/image/v2/images"), keystone)


def test_hostile_tokens_are_refused_not_crashed_on(cove_url: str, keystone: ks.Keystone) -> None:
    for token in (b"x" * 8000, "t\u00e9\u00ff".encode("latin-1"), b"a b\tc", b"../../v3/users"):
        resp = httpx.get(f"{cove_url}/v1/clusters", headers={"X-Auth-Token": token, **LATEST})
        _unauthorized(resp, keystone)
    resp = httpx.get(f"{cove_url}/v1/clusters", headers={"X-Auth-Token": "", **LATEST})
    _unauthorized(resp, keystone)


def test_service_tokens_need_the_service_role(
    keystone: ks.Keystone, as_user: AsUser, people: People
) -> None:
    """A user's token with a service token beside it (what a service calling on a user's
    behalf sends): accepted when the service token's user has the service role, refused
    when it has not, as Magnum's auth_token does."""
    client = as_user(people.a_member)
    service = keystone.user_token(keystone.service_user())
    assert client.get("/v1/clusters", headers={"X-Service-Token": service}).status_code == 200
    impostor = keystone.user_token(people.b_admin)
    resp = client.get("/v1/clusters", headers={"X-Service-Token": impostor})
    assert resp.status_code == 401, resp.text


def test_forged_identity_headers_change_nothing(
    as_user: AsUser, people: People, world: dict[str, str]
) -> None:
    b_member = as_user(people.b_member)
    forged = {
        "X-Project-Id": people.a_member.project_id, "X-Tenant-Id": people.a_member.project_id,
        "X-Roles": "admin,member", "X-User-Id": people.a_admin.id,
        "X-Identity-Status": "Confirmed", "X-Service-Roles": "service",
        "X-User": people.a_admin.name, "X_Project_Id": people.a_member.project_id,
    }  # fmt: skip
    resp = b_member.get("/v1/clusters", headers=forged)
    assert resp.status_code == 200 and resp.json()["clusters"] == []
    assert b_member.get(f"/v1/clusters/{world['cluster']}", headers=forged).status_code == 404
    assert b_member.get("/v1/mservices", headers=forged).status_code == 403
    # control characters in a header cove ignores are not an error either
    assert b_member.get("/v1/clusters", headers={"X-Project-Id": "p\x01"}).status_code == 200
    # and without a token, the headers alone are nothing
    base = str(b_member.base_url).rstrip("/")
    resp = httpx.get(f"{base}/v1/clusters", headers={**LATEST, **forged})
    assert resp.status_code == 401


def test_the_cross_project_matrix_through_real_tokens(
    as_user: AsUser, people: People, world: dict[str, str]
) -> None:
    cluster = world["cluster"]
    project_a = people.a_member.project_id
    reads = [
        "/v1/clustertemplates/a-template",
        f"/v1/clusters/{cluster}",
        f"/v1/clusters/{cluster}/nodegroups",
        f"/v1/certificates/{cluster}",
    ]
    resize = [{"op": "replace", "path": "/node_count", "value": 2}]
    retag = [{"op": "replace", "path": "/tags", "value": "x"}]
    writes = [
        ("PATCH", f"/v1/clusters/{cluster}", resize),
        ("PATCH", "/v1/clustertemplates/a-template", retag),
        ("PATCH", f"/v1/certificates/{cluster}", None),
        ("DELETE", f"/v1/clusters/{cluster}", None),
        ("DELETE", "/v1/clustertemplates/a-template", None),
    ]  # fmt: skip
    for user in (people.b_member, people.b_reader):
        client = as_user(user)
        for path in reads:
            assert client.get(path).status_code == 404, (user.name, path)
        for method, path, body in writes:
            resp = client.request(method, path, json=body)
            assert resp.status_code == 404, (user.name, method, path, resp.text)
        assert client.get("/v1/clusters").json()["clusters"] == []
        assert client.get("/v1/clustertemplates").json()["clustertemplates"] == []
        assert client.get(f"/v1/quotas/{project_a}/Cluster").status_code == 403
        assert client.get("/v1/stats", params={"project_id": project_a}).status_code == 403

    # project A's reader reads (not the CA: signing is a member's), and writes nothing
    reader = as_user(people.a_reader)
    for path in reads[:-1]:
        assert reader.get(path).status_code == 200, path
    for method, path, body in writes:
        assert reader.request(method, path, json=body).status_code == 403, (method, path)
    assert reader.get(f"/v1/quotas/{project_a}/Cluster").json()["hard_limit"] == 5

    # project A's member reads and may write (one harmless write shown)
    member = as_user(people.a_member)
    for path in reads:
        assert member.get(path).status_code == 200, path
    tagged = member.patch(
        "/v1/clustertemplates/a-template", json=[{"op": "replace", "path": "/tags", "value": "a"}]
    )
    assert tagged.status_code == 200, tagged.text
    # quotas are an administrator's to set
    quota = {"project_id": project_a, "resource": "Cluster", "hard_limit": 50}
    assert member.patch(f"/v1/quotas/{project_a}/Cluster", json=quota).status_code == 403

    # an administrator of another project acts across projects, as Magnum's admin does
    b_admin = as_user(people.b_admin)
    assert b_admin.get(f"/v1/clusters/{cluster}").status_code == 200
    assert b_admin.get(f"/v1/quotas/{project_a}/Cluster").status_code == 200


def test_the_clustering_api_keeps_projects_apart_through_real_tokens(
    as_user: AsUser, people: People, world: dict[str, str]
) -> None:
    """Senlin's objects: project A's profile, placed on A's cove cluster, is invisible to
    project B; B cannot place containers on A's cluster either."""
    spec = {
        "type": "container.dockerinc.docker", "version": 1.0,
        "properties": {"image": "nginx:alpine", "host_cluster": world["cluster"]},
    }  # fmt: skip
    member = as_user(people.a_member)
    made = member.post("/clustering/v1/profiles", json={"profile": {"name": "a-p", "spec": spec}})
    assert made.status_code == 201, made.text
    profile = made.json()["profile"]["id"]
    # a reader may not write at all (403); a member of B does not find A's profile (404)
    for user, write in ((people.b_member, 404), (people.b_reader, 403)):
        other = as_user(user)
        assert other.get(f"/clustering/v1/profiles/{profile}").status_code == 404
        assert other.get("/clustering/v1/profiles").json()["profiles"] == []
        assert other.delete(f"/clustering/v1/profiles/{profile}").status_code == write
        stolen = other.post(
            "/clustering/v1/profiles", json={"profile": {"name": "b", "spec": spec}}
        )
        assert stolen.status_code == (400 if write == 404 else 403), stolen.text
        if write == 404:  # the member is told the host cluster is not theirs to use
            assert world["cluster"] in stolen.json()["error"]["message"]
    assert member.delete(f"/clustering/v1/profiles/{profile}").status_code == 204


def test_a_revoked_token_is_refused_within_the_cache_time(
    keystone: ks.Keystone, as_user: AsUser, people: People
) -> None:
    client = as_user(people.a_member)
    assert client.get("/v1/clusters").status_code == 200
    keystone.revoke(client.headers["X-Auth-Token"])
    assert _until(
        lambda: client.get("/v1/clusters").status_code == 401, TOKEN_CACHE_SECONDS + 10
    ), f"a revoked token still works {TOKEN_CACHE_SECONDS + 10} s later"


def test_an_expired_token_is_refused(keystone: ks.Keystone, cove_url: str, people: People) -> None:
    short = keystone.short_lived(2)
    try:
        token = short.user_token(people.a_member)
    finally:
        short.stop()
    headers = {**LATEST, "X-Auth-Token": token}
    assert _until(
        lambda: httpx.get(f"{cove_url}/v1/clusters", headers=headers).status_code == 401, 15
    ), "an expired token still works"


def test_keystone_down_is_a_503_that_says_so_and_cove_recovers(
    keystone: ks.Keystone, cove_url: str, people: People
) -> None:
    token = keystone.user_token(people.a_reader)  # not yet in cove's cache
    headers = {**LATEST, "X-Auth-Token": token}
    keystone.stop()
    try:
        resp = httpx.get(f"{cove_url}/v1/clusters", headers=headers, timeout=60)
        assert resp.status_code == 503, resp.text
        [error] = resp.json()["errors"]
        assert "Keystone" in error["detail"] and "unavailable" in error["detail"]
        assert token not in resp.text
        resp = httpx.get(f"{cove_url}/clustering/v1/clusters", headers=headers, timeout=60)
        assert resp.status_code == 503 and "Keystone" in resp.json()["error"]["message"]
    finally:
        keystone.serve()
    assert httpx.get(f"{cove_url}/v1/clusters", headers=headers).status_code == 200


def test_the_openstack_client_finds_cove_in_the_catalog(
    keystone: ks.Keystone, people: People, world: dict[str, str], tmp_path: Path
) -> None:
    """Password authentication only: no endpoint override. ``token issue``, then Magnum's
    and Senlin's commands, and ``cluster config``."""
    from tests.compat.conftest import CLIENTS, _client_env

    ks.install("osc", "senlin")
    user = people.a_member
    login = [
        "--os-auth-url", keystone.auth_url, "--os-username", user.name,
        "--os-password", user.password, "--os-project-name", user.project,
        "--os-user-domain-name", "Default", "--os-project-domain-name", "Default",
    ]  # fmt: skip
    env = _client_env(tmp_path)

    def run(venv: str, *args: str) -> str:
        argv = [str(CLIENTS / venv / "bin" / "openstack"), *login, *args]
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
        )
        assert proc.returncode == 0, f"{argv[1:]}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    assert "expires" in run("osc", "token", "issue")
    assert "a-cluster" in run("osc", "coe", "cluster", "list")
    assert "a-template" in run("osc", "coe", "cluster", "template", "list")
    config = run(
        "osc", "coe", "cluster", "config", "a-cluster", "--dir", str(tmp_path), "--output-certs"
    )
    assert "DOCKER_HOST" in config and (tmp_path / "ca.pem").exists()
    assert "container" in run("senlin", "cluster", "profile", "type", "list")
    # another project's user sees nothing of project A through the same catalog
    login[3], login[5], login[7] = (
        people.b_member.name, people.b_member.password, people.b_member.project,
    )  # fmt: skip
    assert "a-cluster" not in run("osc", "coe", "cluster", "list")


def test_openstacksdk_reads_coves_catalog_as_glance_nova_and_neutron(
    keystone: ks.Keystone, people: People, world: dict[str, str], tmp_path: Path
) -> None:
    """With ``--cloud-apis`` registered, cove's images, flavors, key pairs and networks are
    what openstacksdk's image, compute and network proxies list (Horizon's forms read them
    so), each project seeing its own."""
    from tests.compat.conftest import CLIENTS, _client_env

    ks.install("sdk")
    user = people.a_member
    script = f"""
import json, openstack
conn = openstack.connect(
    auth_url={keystone.auth_url!r}, username={user.name!r}, password={user.password!r},
    project_name={user.project!r}, user_domain_name="Default", project_domain_name="Default",
    region_name={ks.REGION!r},
)
print(json.dumps({{
    "images": [(i.name, i.visibility) for i in conn.image.images()],
    "flavors": [(f.name, f.vcpus, f.ram) for f in conn.compute.flavors()],
    "keypairs": [k.name for k in conn.compute.keypairs()],
    "zones": [z.name for z in conn.compute.availability_zones()],
    "networks": [(n.name, n.is_router_external) for n in conn.network.networks()],
    "external": [n.name for n in conn.network.networks(is_router_external=True)],
}}))
"""
    proc = subprocess.run(
        [str(CLIENTS / "sdk" / "bin" / "python"), "-c", script],
        capture_output=True, text=True, env=_client_env(tmp_path), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.splitlines()[-1])
    assert seen["images"] == [["instant-image", "private"]]  # project A's own
    assert ["m1.small", 1, 2048] in seen["flavors"]
    assert seen["keypairs"] == ["a-key"] and seen["zones"] == ["nova"]
    assert ["public", True] in seen["networks"] and seen["external"] == ["public"]


def test_coves_own_client_logs_in_with_an_openrc(
    keystone: ks.Keystone, people: People, world: dict[str, str], tmp_path: Path
) -> None:
    """``cove cluster list`` with OS_* variables and no URL: a Keystone login, cove found in
    the catalog; a wrong password is one line naming Keystone."""
    user = people.a_member
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OS_AUTH_URL": keystone.auth_url,
        "OS_USERNAME": user.name, "OS_PASSWORD": user.password,
        "OS_PROJECT_NAME": user.project, "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
    }  # fmt: skip

    def cove(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(COVE), *args], capture_output=True, text=True, env={**env, **extra}, timeout=60
        )

    listed = cove("cluster", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert [c["name"] for c in json.loads(listed.stdout)] == ["a-cluster"]
    profiles = cove("containers", "profile", "list", "-f", "json")  # the clustering API
    assert profiles.returncode == 0 and json.loads(profiles.stdout) == [], profiles.stderr
    refused = cove("cluster", "list", OS_PASSWORD="wrong")
    assert refused.returncode == 1
    assert f"Keystone login at {keystone.auth_url} failed" in refused.stderr
    assert "wrong" not in refused.stderr


def test_serve_refuses_a_keystone_mode_it_cannot_run(tmp_path: Path) -> None:
    config = tmp_path / "cove.toml"
    config.write_text(
        'auth_mode = "keystone"\n[keystone_authtoken]\n'
        'auth_url = "http://127.0.0.1:5000/v3"\nusername = "cove"\npasword = "typo"\n'
    )
    proc = subprocess.run(
        [str(COVE), "--config", str(config), "serve", "--port", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "unknown [keystone_authtoken] option(s): pasword" in proc.stderr
    config.write_text('auth_mode = "keystone"\n')
    proc = subprocess.run(
        [str(COVE), "--config", str(config), "serve", "--port", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "needs [keystone_authtoken] auth_url, username, password, project_name" in proc.stderr
    # trusting headers on a reachable address needs saying so
    proc = subprocess.run(
        [str(COVE), "serve", "--auth-mode", "trusted-headers", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "refusing to trust identity headers on 0.0.0.0" in proc.stderr
