"""OpenStack's dashboard (Horizon with magnum-ui and senlin-dashboard) for a test session, and
a headless Chromium to drive it.

- ``install_horizon()`` runs ``scripts/install-horizon.sh`` (idempotent: a marker look-up once
  installed) and returns the venv;
- ``HorizonServer.start(venv, keystone_url, workdir)``: uWSGI (``--http11-socket``, two
  worker processes) serving ``openstack_dashboard.wsgi`` and the collected static files on a
  free loopback port; the per-run settings go through the environment the installed
  ``local_settings.py`` reads (``COVE_HORIZON_KEYSTONE_URL``, ``COVE_HORIZON_SECRET_KEY``,
  ``COVE_HORIZON_STATE_DIR``); ready when the login page answers 200;
- ``chromium()``: Selenium's Chrome driver on Debian's chromium and chromedriver, headless,
  1400x1000;
- ``Browser``: the driver with explicit waits (``WebDriverWait``, never sleeps), ``login`` and
  ``screenshot``.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "install-horizon.sh"
VENV = ROOT / ".venv-horizon"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
READY_TIMEOUT = 60.0
WAIT = 30.0  # default explicit wait for a page element

T = TypeVar("T")


class HorizonError(RuntimeError):
    """The dashboard could not be installed or started; the message carries its output."""


def install_horizon(timeout: float = 1800) -> Path:
    """``scripts/install-horizon.sh``; the venv it installed."""
    proc = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise HorizonError(
            f"{INSTALL_SCRIPT} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    return VENV


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HorizonServer(ServerProcess):
    """uWSGI serving the dashboard; ``stop()`` ends it."""

    venv: Path
    keystone_url: str  # Keystone's base URL, without /v3
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "horizon.log"

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "COVE_HORIZON_KEYSTONE_URL": f"{self.keystone_url.rstrip('/')}/v3",
            "COVE_HORIZON_SECRET_KEY": secrets.token_urlsafe(32),
            "COVE_HORIZON_STATE_DIR": str(self.workdir / "state"),
        }

    def start(self) -> None:
        argv = [
            str(self.venv / "bin" / "uwsgi"),
            "--http11-socket", f"127.0.0.1:{self.port}",
            "--module", "openstack_dashboard.wsgi:application",
            "--static-map", f"/static={self.venv / 'static'}",
            "--master", "--processes", "2", "--threads", "2",
            "--need-app", "--die-on-term", "--buffer-size", "65535",
            "--disable-logging",
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=self.env(), cwd=self.workdir
            )
        deadline = time.monotonic() + READY_TIMEOUT
        delay = 0.1
        while True:
            if self.proc.poll() is not None:
                raise HorizonError(f"uWSGI exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/auth/login/", timeout=10).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise HorizonError(
                    f"the dashboard did not answer on {self.url} within {READY_TIMEOUT:.0f} s:\n"
                    f"{self.tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)


@contextmanager
def horizon(venv: Path, keystone_url: str, workdir: Path) -> Iterator[HorizonServer]:
    server = HorizonServer(venv, keystone_url, workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """Headless Chromium (Debian's) through its chromedriver, 1400x1000."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(90)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Browser:
    """A driver pointed at one dashboard, with explicit waits."""

    driver: WebDriver
    base_url: str
    screenshots: Path

    def go(self, path: str) -> None:
        self.driver.get(f"{self.base_url}{path}")

    def until(
        self,
        condition: Callable[[WebDriver], T | Literal[False] | None],
        timeout: float,
        what: str,
        poll: float = 0.5,
    ) -> T:
        """``WebDriverWait(...).until(condition)`` (``condition`` every ``poll`` s); a timeout
        names ``what`` and shows the page's text."""
        try:
            result = WebDriverWait(
                self.driver,
                timeout,
                poll_frequency=poll,
                ignored_exceptions=(StaleElementReferenceException,),
            ).until(condition)
        except TimeoutException:
            raise AssertionError(
                f"{what}: not within {timeout:.0f} s\nat {self.driver.current_url}\n"
                f"{self.page_text()}"
            ) from None
        assert result is not None and result is not False  # until() returns a true value
        return result

    def visible(self, css: str, timeout: float = WAIT) -> WebElement:
        return self.until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"visible {css}"
        )

    def clickable(self, css: str, timeout: float = WAIT) -> WebElement:
        return self.until(
            ec.element_to_be_clickable((By.CSS_SELECTOR, css)), timeout, f"clickable {css}"
        )

    def page_text(self, limit: int = 3000) -> str:
        try:
            text = str(self.driver.find_element(By.TAG_NAME, "body").text)
        except Exception as exc:  # the page itself may be what failed
            return f"(page text unavailable: {exc!r})"
        return text[:limit]

    def screenshot(self, name: str) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"horizon-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def login(self, user: str, password: str, *, shot: bool = False) -> None:
        """The login form, then wait for the dashboard's page after it."""
        self.go("/auth/login/")
        self.visible("#id_username").send_keys(user)
        self.driver.find_element(By.ID, "id_password").send_keys(password)
        if shot:
            self.screenshot("login")
        self.clickable("#loginBtn").click()
        self.until(
            lambda d: (
                "/auth/login" not in d.current_url and d.find_elements(By.ID, "navbar-collapse")
            ),
            WAIT,
            f"logged in as {user}",
        )

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)
