"""The application images' recipes: Debian packages plus Kolla's start contract.

Each app image is Debian bookworm (minbase) with the service's packages, ``python3`` for
``cove-start`` (``start.py``, shipped as ``/usr/local/bin/cove-start`` and made the
entrypoint) and the directories Kolla's images have. Like a Kolla image, an app image holds no
configuration of its own: whoever runs it mounts a config.json and the files it names into
``/var/lib/kolla/config_files``. Each ``AppImage`` also carries a sample config.json, which
starts the service with a minimal configuration (for trying an image and for its tests), and
the command that answers whether the service is healthy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from cove.images.recipe import DEFAULT_TRIM, ImageRecipe, RecipeFile

SUITE = "bookworm"
OS_DISTRO = "debian"
REPOSITORY_PREFIX = "cove/app-"
START_PATH = "/usr/local/bin/cove-start"
GATE_PATH = "/usr/local/bin/cove-gate"  # cove.deploy.gate: cove-start runs commands through it
CONFIG_DIR = "/var/lib/kolla/config_files"
CONFIG_FILE = f"{CONFIG_DIR}/config.json"
PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Kolla's images take it from the deployment; set here so that a plain docker run works.
DEFAULT_STRATEGY = "COPY_ALWAYS"
# json, shlex and shutil are not in python3-minimal.
BASE_PACKAGES = ("python3",)
BASE_DIRECTORIES = (CONFIG_DIR, "/var/log/kolla")


def start_script() -> str:
    """The source of ``cove-start`` (this package's ``start.py``)."""
    return resources.files(__package__).joinpath("start.py").read_text(encoding="utf-8")


def app_file(name: str) -> str:
    """A file of an application cove ships in its images (this package's data)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def gate_script() -> str:
    """The source of ``cove-gate`` (``cove.deploy.gate``, standard library only)."""
    return resources.files("cove.deploy").joinpath("gate.py").read_text(encoding="utf-8")


@dataclass(frozen=True)
class AppImage:
    name: str
    recipe: ImageRecipe
    # A config.json that starts the service with the files of ``sample_files`` (placed in
    # CONFIG_DIR beside it).
    sample_config: dict[str, Any] = field(compare=False)
    sample_files: dict[str, str] = field(compare=False)
    health: tuple[str, ...]  # run inside a running container; exit 0 when healthy

    def sample_config_json(self) -> str:
        return json.dumps(self.sample_config, indent=2) + "\n"


def app_recipe(
    name: str,
    packages: tuple[str, ...],
    version_package: str,
    *,
    directories: tuple[str, ...] = (),
    users: tuple[str, ...] = (),
    files: tuple[RecipeFile, ...] = (),
    trim: tuple[str, ...] = (),
) -> ImageRecipe:
    return ImageRecipe(
        repository=f"{REPOSITORY_PREFIX}{name}",
        name=f"app-{name}",
        suite=SUITE,
        packages=(*BASE_PACKAGES, *packages),
        os_distro=OS_DISTRO,
        version_package=version_package,
        trim=(*DEFAULT_TRIM, *trim),
        directories=(*BASE_DIRECTORIES, *directories),
        files=(
            RecipeFile(START_PATH, start_script(), mode=0o755),
            RecipeFile(GATE_PATH, gate_script(), mode=0o755),
            *files,
        ),
        env=(("PATH", PATH_ENV), ("KOLLA_CONFIG_STRATEGY", DEFAULT_STRATEGY)),
        entrypoint=(START_PATH,),
        users=users,
    )


def _as(user: str, command: str) -> str:
    """``command`` run as ``user`` (util-linux's setpriv, in every minbase root)."""
    return f"setpriv --reuid={user} --regid={user} --init-groups {command}"


def _copy(name: str, dest: str, owner: str, perm: str = "0640") -> dict[str, Any]:
    return {"source": f"{CONFIG_DIR}/{name}", "dest": dest, "owner": owner, "perm": perm}


def _probe(host: str, port: int, send: str, expect: str) -> tuple[str, ...]:
    """A health check in python3 (no client in the image speaks the protocol)."""
    code = (
        "import socket,sys;"
        f"s=socket.create_connection(({host!r},{port}),3);"
        f"s.sendall({send!r}.encode());"
        f"sys.exit(0 if s.recv(256).startswith({expect!r}.encode()) else 1)"
    )
    return ("python3", "-c", code)


ETCD_CONF = """\
name: default
data-dir: /var/lib/etcd/default
listen-client-urls: http://0.0.0.0:2379
advertise-client-urls: http://127.0.0.1:2379
listen-peer-urls: http://127.0.0.1:2380
"""

ETCD = AppImage(
    name="etcd",
    recipe=app_recipe(
        "etcd", ("etcd-server", "etcd-client"), "etcd-server", directories=("/etc/etcd",)
    ),
    sample_config={
        "command": _as("etcd", "etcd --config-file /etc/etcd/etcd.conf.yml"),
        "config_files": [_copy("etcd.conf.yml", "/etc/etcd/etcd.conf.yml", "etcd")],
        "permissions": [{"path": "/var/lib/etcd", "owner": "etcd", "perm": "0700"}],
    },
    sample_files={"etcd.conf.yml": ETCD_CONF},
    health=("etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health"),
)

MARIADB_CONF = """\
[mysqld]
bind-address = 0.0.0.0
skip-name-resolve
"""

MARIADB = AppImage(
    name="mariadb",
    # Debian's postinst initialises /var/lib/mysql during the build (no server is started).
    recipe=app_recipe(
        "mariadb", ("mariadb-server",), "mariadb-server", directories=("/run/mysqld",)
    ),
    sample_config={
        "command": "mariadbd --user=mysql",
        "config_files": [_copy("cove.cnf", "/etc/mysql/mariadb.conf.d/99-cove.cnf", "mysql")],
        "permissions": [
            {"path": "/run/mysqld", "owner": "mysql", "perm": "0755"},
            {"path": "/var/lib/mysql", "owner": "mysql", "recurse": True},
        ],
    },
    sample_files={"cove.cnf": MARIADB_CONF},
    health=("mariadb-admin", "ping"),
)

MEMCACHED = AppImage(
    name="memcached",
    recipe=app_recipe("memcached", ("memcached",), "memcached"),
    sample_config={"command": "memcached -u memcache -l 0.0.0.0 -p 11211 -m 64"},
    sample_files={},
    health=_probe("127.0.0.1", 11211, "version\r\n", "VERSION"),
)

RABBITMQ_CONF = """\
listeners.tcp.default = 5672
loopback_users = none
"""

RABBITMQ = AppImage(
    name="rabbitmq",
    recipe=app_recipe("rabbitmq", ("rabbitmq-server",), "rabbitmq-server"),
    sample_config={
        "command": _as("rabbitmq", "env HOME=/var/lib/rabbitmq rabbitmq-server"),
        "config_files": [_copy("rabbitmq.conf", "/etc/rabbitmq/rabbitmq.conf", "rabbitmq", "0644")],
        "permissions": [
            {"path": "/var/lib/rabbitmq", "owner": "rabbitmq", "recurse": True},
            {"path": "/var/log/rabbitmq", "owner": "rabbitmq", "recurse": True},
        ],
    },
    sample_files={"rabbitmq.conf": RABBITMQ_CONF},
    health=(
        "setpriv",
        "--reuid=rabbitmq",
        "--regid=rabbitmq",
        "--init-groups",
        "env",
        "HOME=/var/lib/rabbitmq",
        "rabbitmq-diagnostics",
        "-q",
        "ping",
    ),
)

KEYSTONE_CONF = """\
[DEFAULT]
log_dir = /var/log/keystone
[database]
connection = sqlite:////var/lib/keystone/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = /etc/keystone/fernet-keys
[credential]
key_repository = /etc/keystone/credential-keys
"""

# Keystone's WSGI application (keystone-wsgi-public, from python3-keystone) served by uWSGI,
# as Debian's keystone package serves it; that package's postinst (dbconfig, endpoint
# registration) is not wanted in an image. The sample bootstraps a SQLite database first,
# as Kolla's bootstrap container does with KOLLA_BOOTSTRAP.
KEYSTONE_BOOTSTRAP = (
    "keystone-manage db_sync"
    " && keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone"
    " && keystone-manage credential_setup --keystone-user keystone --keystone-group keystone"
    " && keystone-manage bootstrap --bootstrap-password admin"
    " --bootstrap-public-url http://127.0.0.1:5000/v3 --bootstrap-region-id RegionOne"
    " && chown -R keystone:keystone /var/lib/keystone /var/log/keystone"
    " && exec uwsgi --plugin python3 --http-socket 0.0.0.0:5000"
    " --wsgi-file /usr/bin/keystone-wsgi-public --uid keystone --gid keystone"
    " --master --processes 2 --threads 1 --die-on-term"
)

KEYSTONE = AppImage(
    name="keystone",
    recipe=app_recipe(
        "keystone",
        # python3-ply: debootstrap does not resolve virtual packages, and python3-pycparser
        # depends on python3-ply-lex-3.10, which only python3-ply provides.
        (
            "python3-keystone",
            "python3-openstackclient",
            "python3-ply",
            "uwsgi-core",
            "uwsgi-plugin-python3",
        ),
        "python3-keystone",
        directories=("/etc/keystone", "/var/lib/keystone", "/var/log/keystone"),
        users=("keystone",),
    ),
    sample_config={
        "command": f"sh -c '{KEYSTONE_BOOTSTRAP}'",
        "config_files": [_copy("keystone.conf", "/etc/keystone/keystone.conf", "keystone")],
        "permissions": [
            {"path": "/var/lib/keystone", "owner": "keystone", "recurse": True},
            {"path": "/var/log/keystone", "owner": "keystone", "recurse": True},
        ],
    },
    sample_files={"keystone.conf": KEYSTONE_CONF},
    health=(
        "python3",
        "-c",
        "import urllib.request;urllib.request.urlopen('http://127.0.0.1:5000/v3',timeout=3)",
    ),
)

POSTGRES_PATH = "/usr/local/bin/cove-postgres"

# Debian's server (bookworm: 15) started by cove-postgres (postgres.sh), which makes the data
# directory on the first start from POSTGRES_USER, POSTGRES_PASSWORD_FILE and POSTGRES_DB.
# The cluster postgresql-common's postinst makes during the build is trimmed: the image's
# data lives in a volume, initialised by whoever runs it.
POSTGRES = AppImage(
    name="postgres",
    recipe=app_recipe(
        "postgres",
        ("postgresql-15",),
        "postgresql-15",
        files=(RecipeFile(POSTGRES_PATH, app_file("postgres.sh"), mode=0o755),),
        trim=("var/lib/postgresql", "etc/postgresql"),
    ),
    sample_config={
        "command": (
            "env POSTGRES_USER=app POSTGRES_PASSWORD_FILE=/run/secrets/db-password"
            f" {POSTGRES_PATH} -c listen_addresses=*"
        ),
        "config_files": [_copy("password", "/run/secrets/db-password", "postgres", "0400")],
    },
    sample_files={"password": "sample-password\n"},
    health=("pg_isready", "-q"),
)

ITEMS_PATH = "/usr/local/bin/cove-items"
ITEMS_WEB = "/usr/share/cove-items"
ITEMS_CONF = """\
{"database": {"host": "db", "port": 5432, "dbname": "app", "user": "app",
              "password": "sample-password"},
 "listen": {"host": "0.0.0.0", "port": 8000}}
"""
# The application tier of the three-tier package in one image: cove-items (items.py, the
# API and its schema task, over Debian's psycopg2) and the web tier (nginx-light serving
# items.html; the package's nginx.conf passes /api/ to the API). One image for both keeps
# CI's builds to one debootstrap more than the database's.
ITEMS = AppImage(
    name="items",
    recipe=app_recipe(
        "items",
        ("python3-psycopg2", "nginx-light"),
        "python3-psycopg2",
        files=(
            RecipeFile(ITEMS_PATH, app_file("items.py"), mode=0o755),
            RecipeFile(f"{ITEMS_WEB}/index.html", app_file("items.html")),
        ),
    ),
    sample_config={
        "command": f"{ITEMS_PATH} --config /etc/cove-items/items.json serve",
        "config_files": [_copy("items.json", "/etc/cove-items/items.json", "root", "0600")],
    },
    sample_files={"items.json": ITEMS_CONF},
    health=(
        "python3",
        "-c",
        "import urllib.request;urllib.request.urlopen('http://127.0.0.1:8000/api/health',timeout=3)",
    ),
)

APPS: dict[str, AppImage] = {
    app.name: app for app in (ETCD, MARIADB, MEMCACHED, RABBITMQ, KEYSTONE, POSTGRES, ITEMS)
}
