"""End-to-end: OpenStack's dashboard drives cove through Keystone. A real Keystone 30, a real
``cove serve --auth-mode keystone`` (tokens validated by keystonemiddleware) with the real
swarm-mode driver, Horizon 27 with magnum-ui 19 served by uWSGI, and headless Chromium.

cove is found the way Horizon finds Magnum: its ``container-infra`` service (and Senlin's
``clustering``) in Keystone's catalog. A project member logs in and, in the Container Infra
panels, sees the cluster templates and clusters of their project, watches a cluster (1 manager,
1 worker) reach CREATE_COMPLETE, resizes it to 2 workers in magnum-ui's dialog, and deletes it.
In the Create Cluster Template form it makes a Kubernetes template (a fedora-coreos image
registered in cove's catalog, a key pair, m1.medium, the external network), sees it listed and
in cove's API, and deletes it in the panel (Kubernetes clusters cannot run here).

The swarm-mode template and the cluster are created through cove's API with the member's
token, not through magnum-ui's forms, because those forms cannot make them (docs/dashboard.md):
the template form offers only the COE ``kubernetes`` and only images whose os_distro is coreos,
fedora-atomic, fedora-coreos or ubuntu; the cluster form requires an availability zone but
lists Horizon 27's zones by ``zoneName``, which Horizon's openstacksdk-based answer no longer
carries (it says ``name``), so its one choice is empty and Submit stays disabled. cove is
registered with ``cove keystone register --cloud-apis`` so the forms' other choices (images,
flavors, key pairs, networks) come from cove's catalog.

Screenshots go to ``COVE_SCREENSHOTS_DIR`` (``docs/images`` for the docs), else a temporary
directory. The checks run in order and share one cluster.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from cove.images import BuiltImage
from tests.e2e.test_swarm_cluster import COVE, IMAGE, CoveServer, _free_port, sweep
from tests.support import keystone as ks
from tests.support.horizon import Browser, HorizonServer, chromium, install_horizon

pytestmark = pytest.mark.e2e

PROJECT = "horizon"
TEMPLATE = "swarm"
CLUSTER = "web"
PROFILE = "sleeper"
CONTAINERS = "sleepers"
FLAVOR = "m1.small"
K8S_TEMPLATE = "k8s-from-the-form"
K8S_IMAGE = "fedora-coreos-40"
K8S_FLAVOR = "m1.medium"  # magnum-ui offers flavors from 2 vCPUs and 2048 MiB
KEYPAIR = "horizon-key"
STATUS_TIMEOUT = 150.0  # a create or resize as the panel shows it (reloads every 3 s)
GONE_TIMEOUT = 90.0
API_VERSION = {"OpenStack-API-Version": "container-infra latest"}


# --------------------------------------------------------------------------------------------
# Keystone, cove in keystone mode, the dashboard, the browser
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ks.Keystone]:
    ks.install()
    server = ks.Keystone.start(tmp_path_factory.mktemp("keystone"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def member(keystone: ks.Keystone) -> ks.User:
    return keystone.user("horizon-member", PROJECT, "member")


@dataclass
class CoveApi:
    """cove's HTTP API as the member (a Keystone token), for set-up and cheap checks."""

    server: CoveServer
    keystone: ks.Keystone
    user: ks.User
    clusters: list[str] = field(default_factory=list)  # uuids, for the finalizer

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {**API_VERSION, "X-Auth-Token": self.keystone.user_token(self.user)}
        return httpx.request(
            method, f"{self.server.url}{path}", json=body, headers=headers, timeout=30
        )

    def cluster(self, name: str) -> dict[str, Any] | None:
        resp = self.request("GET", f"/v1/clusters/{name}")
        if resp.status_code == 404:
            return None
        assert resp.status_code == 200, f"GET cluster {name}: {resp.status_code} {resp.text}"
        return dict(resp.json())

    def describe(self, name: str) -> str:
        doc = self.cluster(name)
        keys = ("status", "status_reason", "node_count", "health_status")
        state = {k: doc.get(k) for k in keys} if doc else "gone"
        return f"cluster {name} in cove: {state}\ncove serve log (tail):\n{self.server.tail(15)}"


@pytest.fixture(scope="module")
def cove(
    node_image: BuiltImage,
    keystone: ks.Keystone,
    member: ks.User,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CoveApi]:
    """``cove serve`` validating tokens with the module's Keystone, in its catalog; the node
    image registered. Finalizer: delete the clusters it made, sweep their label."""
    workdir = tmp_path_factory.mktemp("cove-horizon")
    service = keystone.service_user()
    options = keystone.authtoken_options(service)
    authtoken = "\n".join(f'{key} = "{value}"' for key, value in options.items())
    config = workdir / "cove.toml"
    config.write_text(f'auth_mode = "keystone"\n\n[keystone_authtoken]\n{authtoken}\n')
    config.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVE_")}
    env.update(
        COVE_CONFIG=str(config),
        COVE_STATE_DIR=str(workdir / "state"),
        COVE_DB=f"sqlite:///{workdir / 'cove.db'}",
        COVE_HEALTH_INTERVAL="1",
        COVE_LEASE_SECONDS="3",
        COVE_SCAN_INTERVAL="0.5",
    )
    built = subprocess.run(
        [str(COVE), "image", "build"],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=900,
        check=False,
    )
    assert built.returncode == 0, f"cove image build:\n{built.stdout}{built.stderr}"
    server = CoveServer(workdir, _free_port(), env)
    server.start()
    api = CoveApi(server, keystone, member)
    try:
        # Magnum's and Senlin's services, and Glance's, Nova's and Neutron's read APIs over
        # cove's catalog (magnum-ui's forms fill their choices from them).
        ks.register_cove(keystone, server.url, "--cloud-apis")
        yield api
    finally:
        for ident in api.clusters:
            if api.cluster(ident) is not None:
                api.request("DELETE", f"/v1/clusters/{ident}")
        server.stop()
        for ident in api.clusters:
            sweep(ident)


@pytest.fixture(scope="module")
def dashboard(
    keystone: ks.Keystone, cove: CoveApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HorizonServer]:
    venv = install_horizon()
    server = HorizonServer(venv, keystone.url, tmp_path_factory.mktemp("horizon"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(
    dashboard: HorizonServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    shots = os.environ.get("COVE_SCREENSHOTS_DIR")
    directory = Path(shots) if shots else tmp_path_factory.mktemp("screenshots")
    with chromium() as driver:
        yield Browser(driver, dashboard.url, directory)


# --------------------------------------------------------------------------------------------
# the panels' tables
# --------------------------------------------------------------------------------------------


def rows(driver: WebDriver) -> list[WebElement]:
    """The data rows of the page's Angular table (not the detail or no-items rows)."""
    return [
        row
        for row in driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
        if row.find_elements(By.CSS_SELECTOR, "td.actions_column")
    ]


def row_named(driver: WebDriver, name: str) -> WebElement | None:
    for row in rows(driver):
        cells = row.find_elements(By.TAG_NAME, "td")
        if any(cell.text.strip() == name for cell in cells):
            return row
    return None


def table_loaded(driver: WebDriver) -> bool:
    """The page's table is filled in: it prints its item count, or says it has none (the
    Angular tables fill in after the page)."""
    text = driver.find_element(By.CSS_SELECTOR, "table").text
    return "Displaying" in text or "No items to display" in text


def choose(browser: Browser, select_id: str, label: str) -> None:
    """Pick ``label`` in a select of a Django form: a plain one, or one of Horizon's themed
    ones (the <select> hidden behind a dropdown button, drawn once the form's script ran)."""

    def toggle(driver: WebDriver) -> tuple[WebElement, WebElement | None] | None:
        select = driver.find_element(By.ID, select_id)
        if select.is_displayed():  # a plain one
            return select, None
        group = select.find_element(By.XPATH, "..")
        buttons = group.find_elements(By.CSS_SELECTOR, "button.dropdown-toggle")
        return (group, buttons[0]) if buttons and buttons[0].is_displayed() else None

    found = browser.until(toggle, 30, f"the select {select_id}")
    group, button = found
    if button is None:
        Select(group).select_by_visible_text(label)
        return
    button.click()
    option = browser.until(
        lambda d: next(
            (
                a
                for a in group.find_elements(By.CSS_SELECTOR, ".dropdown-menu a")
                if a.text.strip() == label and a.is_displayed()
            ),
            None,
        ),
        30,
        f"{label} offered in {select_id}",
    )
    option.click()


def wait_row(browser: Browser, path: str, name: str, shows: str, timeout: float) -> WebElement:
    """Reload ``path`` (every 3 s: the panels do not refresh themselves) until the row named
    ``name`` shows the text ``shows``."""

    def loaded(driver: WebDriver) -> WebElement | None:
        driver.get(f"{browser.base_url}{path}")
        browser.visible("table tbody")
        # The table fills in after the page: wait for the item count it prints.
        browser.until(table_loaded, 30, f"the table at {path}")
        row = row_named(driver, name)
        return row if row is not None and shows in row.text.split() else None

    return browser.until(loaded, timeout, f"{name} showing {shows} at {path}", poll=3.0)


def wait_gone(browser: Browser, path: str, name: str, timeout: float) -> None:
    """Reload ``path`` (every 3 s) until its table has no row named ``name``."""

    def gone(driver: WebDriver) -> bool:
        driver.get(f"{browser.base_url}{path}")
        browser.until(table_loaded, 30, f"the table at {path}")
        return row_named(driver, name) is None

    browser.until(gone, timeout, f"{name} gone from {path}", poll=3.0)


def row_action(browser: Browser, name: str, action: str) -> None:
    """Open the action menu of the row named ``name`` and choose ``action``. Looked up again
    on every try: the Angular table may redraw its rows in between."""

    def choose(driver: WebDriver) -> bool:
        row = row_named(driver, name)
        if row is None:
            return False
        items = [
            item
            for item in row.find_elements(
                By.CSS_SELECTOR, ".dropdown-menu a, .dropdown-menu button"
            )
            if (item.get_attribute("textContent") or "").strip() == action
        ]
        assert items, f"no action {action!r} for {name}"
        if not items[0].is_displayed():
            row.find_element(By.CSS_SELECTOR, "td.actions_column .dropdown-toggle").click()
            return False
        items[0].click()
        return True

    browser.until(choose, 20, f"{action} chosen for {name}")


def click_button(browser: Browser, label: str) -> None:
    """Click the page's button labelled ``label`` once it is there."""

    def click(driver: WebDriver) -> bool:
        for button in driver.find_elements(By.TAG_NAME, "button"):
            if button.text.strip() == label and button.is_enabled():
                button.click()
                return True
        return False

    browser.until(click, 30, f"the button {label!r}")


def click_step(browser: Browser, title: str) -> None:
    """Open the modal form's tab (step) ``title``."""

    def click(driver: WebDriver) -> bool:
        for link in driver.find_elements(By.CSS_SELECTOR, ".modal-dialog .nav a"):
            if link.text.strip() == title and link.is_displayed():
                link.click()
                return True
        return False

    browser.until(click, 30, f"the form's step {title!r}")


def pick(browser: Browser, css: str, label: str) -> None:
    """Choose ``label`` in the form's select at ``css`` once its choices (which the form
    fetches after it opens) offer it."""

    def offered(driver: WebDriver) -> Select | None:
        select = Select(driver.find_element(By.CSS_SELECTOR, css))
        texts = [option.text.strip() for option in select.options]
        return select if label in texts else None

    browser.until(offered, 30, f"{label} offered in {css}").select_by_visible_text(label)


# --------------------------------------------------------------------------------------------
# the checks
# --------------------------------------------------------------------------------------------


def test_member_logs_in_through_keystone(browser: Browser, member: ks.User) -> None:
    browser.login(member.name, member.password, shot=True)
    assert "/auth/login" not in browser.driver.current_url
    nav = browser.visible("#navbar-collapse").text
    assert PROJECT in nav, nav  # scoped to the member's project


def test_templates_panel_lists_the_projects_template(browser: Browser, cove: CoveApi) -> None:
    body = {
        "name": TEMPLATE,
        "coe": "swarm-mode",
        "image_id": IMAGE,
        "external_network_id": "public",
        "flavor_id": FLAVOR,
        "master_flavor_id": FLAVOR,
    }
    made = cove.request("POST", "/v1/clustertemplates", body)
    assert made.status_code == 201, made.text
    row = wait_row(browser, "/project/cluster_templates/", TEMPLATE, TEMPLATE, 60)
    assert made.json()["uuid"] in row.text
    browser.screenshot("cluster-templates")


def test_template_form_offers_only_kubernetes(browser: Browser) -> None:
    """magnum-ui 19's form: four steps; its COE select lists Kubernetes alone (swarm-mode
    templates come from the API or the CLI)."""
    browser.go("/project/cluster_templates/")
    click_button(browser, "Create Cluster Template")
    modal = ".modal-dialog"

    def steps(driver: WebDriver) -> str | None:
        text = str(driver.find_element(By.CSS_SELECTOR, modal).text)
        return text if "Node Spec" in text else None

    text = browser.until(steps, 30, "the form's steps")
    for step in ("Info", "Node Spec", "Network", "Labels"):
        assert step in text, text
    browser.visible(f"{modal} input[name=name]").send_keys("from-the-form")
    coe = Select(browser.visible(f"{modal} select[name=coe]"))
    texts = [option.text.strip() for option in coe.options]
    offered = [text for text in texts if not text.startswith("Choose")]  # the placeholder
    assert offered == ["Kubernetes"], offered
    coe.select_by_visible_text("Kubernetes")
    browser.screenshot("template-form")
    browser.clickable(f"{modal} .modal-footer .btn-default").click()  # Cancel
    browser.until(lambda d: not d.find_elements(By.CSS_SELECTOR, modal), 15, "the form closed")


def test_kubernetes_template_from_the_form(browser: Browser, cove: CoveApi) -> None:
    """magnum-ui's Create Cluster Template form makes a Kubernetes template from cove's
    catalog (a fedora-coreos image, a key pair, m1.medium, the external network): listed in
    the panel, in cove's API as filled in, then deleted in the panel."""
    images = cove.request("GET", "/v1/images")
    assert images.status_code == 200, images.text
    fcos = [i for i in images.json()["images"] if i["os_distro"] == "fedora-coreos"]
    if not fcos:
        made = cove.request("POST", "/v1/images", {"name": K8S_IMAGE, "os_distro": "fedora-coreos"})
        assert made.status_code == 201, made.text
        fcos = [made.json()]
    image = fcos[0]
    key = cove.request("POST", "/v1/keypairs", {"name": KEYPAIR})
    assert key.status_code in (200, 201), key.text

    browser.go("/project/cluster_templates/")
    click_button(browser, "Create Cluster Template")
    modal = ".modal-dialog"
    browser.visible(f"{modal} input[name=name]").send_keys(K8S_TEMPLATE)
    pick(browser, f"{modal} select[name=coe]", "Kubernetes")
    click_step(browser, "Node Spec")
    pick(browser, f"{modal} select[name=image_id]", image["name"])
    pick(browser, f"{modal} select[name=keypair_id]", KEYPAIR)
    pick(browser, f"{modal} select[name=flavor_id]", K8S_FLAVOR)
    pick(browser, f"{modal} select[name=master_flavor_id]", K8S_FLAVOR)
    click_step(browser, "Network")
    pick(browser, f"{modal} select[name=external_network_id]", "public")
    browser.screenshot("template-create")
    try:
        click_button(browser, "Submit")
        browser.until(lambda d: not d.find_elements(By.CSS_SELECTOR, modal), 30, "closed")
        wait_row(browser, "/project/cluster_templates/", K8S_TEMPLATE, K8S_TEMPLATE, 60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\ncove serve log (tail):\n{cove.server.tail(20)}") from None

    made = cove.request("GET", f"/v1/clustertemplates/{K8S_TEMPLATE}")
    assert made.status_code == 200, made.text
    doc = made.json()
    assert doc["coe"] == "kubernetes", doc
    assert doc["image_id"] in (image["name"], image["uuid"]), doc
    assert doc["flavor_id"] == K8S_FLAVOR and doc["master_flavor_id"] == K8S_FLAVOR, doc
    assert doc["keypair_id"] == KEYPAIR, doc

    row_action(browser, K8S_TEMPLATE, "Delete Cluster Template")
    browser.clickable(f"{modal} .modal-footer button:not(.btn-default)").click()
    wait_gone(browser, "/project/cluster_templates/", K8S_TEMPLATE, 60)
    gone = cove.request("GET", f"/v1/clustertemplates/{K8S_TEMPLATE}")
    assert gone.status_code == 404, gone.text
    assert cove.request("DELETE", f"/v1/keypairs/{KEYPAIR}").status_code == 204


def test_cluster_reaches_create_complete_in_the_panel(browser: Browser, cove: CoveApi) -> None:
    body = {"name": CLUSTER, "cluster_template_id": TEMPLATE, "master_count": 1, "node_count": 1}
    made = cove.request("POST", "/v1/clusters", body)
    assert made.status_code == 202, made.text
    cove.clusters.append(made.json()["uuid"])
    try:
        row = wait_row(browser, "/project/clusters/", CLUSTER, "CREATE_COMPLETE", STATUS_TIMEOUT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cove.describe(CLUSTER)}") from None
    assert made.json()["uuid"] in row.text
    browser.screenshot("clusters")


def test_resize_in_the_dialog_reaches_update_complete(browser: Browser, cove: CoveApi) -> None:
    wait_row(browser, "/project/clusters/", CLUSTER, "CREATE_COMPLETE", 30)
    row_action(browser, CLUSTER, "Resize Cluster")
    # The dialog draws its form once the cluster's node groups arrive: look elements up
    # again rather than hold ones an earlier draw made.
    browser.until(
        lambda d: d.find_element(By.CSS_SELECTOR, "input#node_count").get_attribute("value") == "1",
        30,
        "the current node count in the dialog",
    )
    count = browser.visible("input#node_count")
    count.clear()
    count.send_keys("2")
    browser.screenshot("resize")
    browser.clickable(".modal-dialog .modal-footer .btn-primary").click()
    browser.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal-dialog"), 30, "closed")
    try:
        wait_row(browser, "/project/clusters/", CLUSTER, "UPDATE_COMPLETE", STATUS_TIMEOUT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cove.describe(CLUSTER)}") from None
    doc = cove.cluster(CLUSTER)
    assert doc is not None and doc["node_count"] == 2, cove.describe(CLUSTER)


def test_clustering_panels_list_profiles_and_clusters(browser: Browser) -> None:
    """senlin-dashboard's Cluster dashboard reads cove's clustering API (the catalog's
    ``clustering`` service): both tables answer, empty."""
    for path in ("/cluster/profiles/", "/cluster/"):
        browser.go(path)
        browser.until(
            lambda d: "No items to display" in d.find_element(By.CSS_SELECTOR, "table").text,
            30,
            f"the empty table at {path}",
        )


def test_container_profile_and_cluster_from_the_clustering_forms(
    browser: Browser, cove: CoveApi, busybox_image: str
) -> None:
    """A container profile placed on the cove cluster, made in senlin-dashboard's form, then a
    container cluster of it (one container) that turns ACTIVE, then both deleted there."""
    spec = textwrap.dedent(
        f"""\
        type: container.dockerinc.docker
        version: 1.0
        properties:
          image: {busybox_image}
          command: sleep 3600
          host_cluster: {CLUSTER}
        """
    )
    browser.go("/cluster/profiles/")
    browser.clickable("#profiles__action_create").click()
    browser.visible(".modal-dialog #id_name").send_keys(PROFILE)
    choose(browser, "id_source_type", "YAML")
    browser.visible(".modal-dialog #id_spec_yaml").send_keys(spec)
    browser.screenshot("senlin-profile-form")
    browser.clickable(".modal-dialog .modal-footer .btn-primary").click()
    wait_row(browser, "/cluster/profiles/", PROFILE, PROFILE, 60)

    browser.go("/cluster/")
    browser.clickable("#clusters__action_create").click()
    browser.visible(".modal-dialog #id_name").send_keys(CONTAINERS)
    choose(browser, "id_profile_id", PROFILE)
    capacity = browser.visible(".modal-dialog #id_desired_capacity")
    capacity.clear()
    capacity.send_keys("1")
    browser.clickable(".modal-dialog .modal-footer .btn-primary").click()
    try:
        wait_row(browser, "/cluster/", CONTAINERS, "ACTIVE", STATUS_TIMEOUT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cove.server.tail(20)}") from None
    browser.screenshot("senlin-clusters")

    row_action(browser, CONTAINERS, "Delete Cluster")
    browser.clickable(".modal-dialog .modal-footer .btn-danger").click()
    wait_gone(browser, "/cluster/", CONTAINERS, GONE_TIMEOUT)
    wait_row(browser, "/cluster/profiles/", PROFILE, PROFILE, 30)
    row_action(browser, PROFILE, "Delete Profile")
    browser.clickable(".modal-dialog .modal-footer .btn-danger").click()
    wait_gone(browser, "/cluster/profiles/", PROFILE, 60)


def test_delete_in_the_panel(browser: Browser, cove: CoveApi) -> None:
    wait_row(browser, "/project/clusters/", CLUSTER, "UPDATE_COMPLETE", 30)
    row_action(browser, CLUSTER, "Delete Cluster")
    browser.clickable(".modal-dialog .modal-footer button:not(.btn-default)").click()
    try:
        wait_gone(browser, "/project/clusters/", CLUSTER, GONE_TIMEOUT)
        browser.until(lambda d: cove.cluster(CLUSTER) is None, 30, f"{CLUSTER} gone from cove")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cove.describe(CLUSTER)}") from None
