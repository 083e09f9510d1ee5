#!/usr/bin/env bash
# Install OpenStack's dashboard with cove's panels into <repo>/.venv-horizon, for
# tests/e2e/test_horizon.py and docs/dashboard.md:
#
#   horizon 27.0.0            the dashboard (Django), the newest 27.x on PyPI
#   magnum-ui 19.0.0          the Container Infra panels (clusters, cluster templates, quotas)
#   python-magnumclient 4.11.0  what magnum-ui 19 calls; 5.0.0 changed ClusterManager.list's
#                             signature and the panels fail with it
#   senlin-dashboard 8.0.0    the Clustering panels (profiles, clusters, nodes, policies, receivers)
#   pyuwsgi                   uWSGI as a binary wheel: serves the dashboard and its static files
#
# then copies the plugins' enable files into openstack_dashboard/local/enabled, writes
# openstack_dashboard/local/local_settings.py (which reads its per-run values from the
# environment at start: see tests/support/horizon.py and docs/dashboard.md), and runs
# collectstatic and compress (COMPRESS_OFFLINE) once. Also installs Debian's chromium and
# chromium-driver when missing (the headless browser the e2e test drives).
#
# Idempotent: a venv whose marker file holds the same spec is left alone; one without the
# marker (an interrupted install) or with another spec is rebuilt. The marker is written only
# after the dashboard's Django checks pass.
#
# Environment: PYTHON3 (default python3) picks the interpreter; COVE_HORIZON_DIR overrides the
# destination. Concurrent runs serialise on a lock file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${COVE_HORIZON_DIR:-$ROOT/.venv-horizon}"
PY="${PYTHON3:-python3}"
MARKER=".cove-horizon-complete"
SPEC=(
    horizon==27.0.0
    magnum-ui==19.0.0
    python-magnumclient==4.11.0
    senlin-dashboard==8.0.0
    pyuwsgi==2.0.30.post1
)
# Bump when the enable files, local_settings.py or the static steps below change.
LAYOUT=3

die() {
    echo "install-horizon: ERROR: $*" >&2
    exit 1
}

command -v "$PY" >/dev/null 2>&1 || die "no $PY on PATH (set PYTHON3)"
command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required"

# --- the browser --------------------------------------------------------------------------------
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "install-horizon: installing chromium and chromium-driver (apt)"
    apt=(apt-get -o DPkg::Lock::Timeout=300)
    export DEBIAN_FRONTEND=noninteractive
    if ! "${apt[@]}" install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; then
        "${apt[@]}" update -qq
        "${apt[@]}" install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    fi
fi

# --- the dashboard ------------------------------------------------------------------------------
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9

spec="${SPEC[*]} layout=$LAYOUT"
if [[ -f "$VENV/$MARKER" ]] && [[ "$(cat "$VENV/$MARKER")" == "$spec" ]]; then
    echo "install-horizon: up to date ($spec)"
    exit 0
fi

start=$SECONDS
log="$VENV.log"
printf 'install-horizon: installing %s into %s ... ' "${SPEC[*]}" "$VENV"
rm -rf "$VENV"
{
    "$PY" -m venv "$VENV" &&
        "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip &&
        "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${SPEC[@]}"
} >"$log" 2>&1 || {
    echo "failed" && tail -n 30 "$log" >&2
    die "pip install of '${SPEC[*]}' failed (full log: $log)"
}

site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
dashboard="$site/openstack_dashboard"
enabled="$dashboard/local/enabled"
mkdir -p "$enabled"
cp "$site"/magnum_ui/enabled/_1370_*.py "$site"/magnum_ui/enabled/_1371_*.py \
    "$site"/magnum_ui/enabled/_1372_*.py "$site"/magnum_ui/enabled/_2370_*.py \
    "$site"/magnum_ui/enabled/_2371_*.py "$enabled/"
cp "$site"/senlin_dashboard/enabled/_50_senlin.py "$enabled/"

# The settings a run needs come from the environment at start (tests/support/horizon.py
# sets them); the defaults let collectstatic and compress run here.
cat >"$dashboard/local/local_settings.py" <<'EOF'
# Written by cove's scripts/install-horizon.sh. Per-run values come from the environment.
import os

from horizon.utils import secret_key as _secret_key

DEBUG = os.environ.get("COVE_HORIZON_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

OPENSTACK_KEYSTONE_URL = os.environ.get("COVE_HORIZON_KEYSTONE_URL", "http://127.0.0.1:5000/v3")
OPENSTACK_API_VERSIONS = {"identity": 3}
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = "Default"
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
OPENSTACK_ENDPOINT_TYPE = "publicURL"
OPENSTACK_SSL_NO_VERIFY = True

# Sessions and the cache in files: uWSGI's worker processes share them, and a Keystone
# token with its catalog does not fit a signed cookie.
_state = os.environ.get("COVE_HORIZON_STATE_DIR", "/tmp/cove-horizon")
for _dir in ("sessions", "cache"):
    os.makedirs(os.path.join(_state, _dir), mode=0o700, exist_ok=True)
# Signs sessions: from the environment, else made once per state directory (0600), shared
# by the workers, never a value written in this file.
SECRET_KEY = os.environ.get("COVE_HORIZON_SECRET_KEY") or _secret_key.generate_or_read_from_file(
    os.path.join(_state, ".secret_key_store")
)
SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = os.path.join(_state, "sessions")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.path.join(_state, "cache"),
    }
}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

STATIC_ROOT = "@STATIC_ROOT@"  # collectstatic and compress filled it at install
COMPRESS_OFFLINE = True
COMPRESS_ENABLED = True

# senlin-dashboard's Django panels: its Angular ones (8.0.0) show an empty table under
# Horizon 27 although /api/senlin/profiles/ answers with the items.
ANGULAR_FEATURES = {
    "images_panel": True,
    "key_pairs_panel": False,
    "flavors_panel": False,
    "domains_panel": False,
    "users_panel": False,
    "groups_panel": False,
    "roles_panel": True,
    "profiles_panel": False,
    "clusters_panel": False,
    "nodes_panel": False,
    "policies_panel": False,
    "receivers_panel": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
EOF

sed -i "s|@STATIC_ROOT@|$VENV/static|" "$dashboard/local/local_settings.py"
{
    export COVE_HORIZON_STATE_DIR="$VENV/state"
    cd "$site" &&
        "$VENV/bin/python" -m django check --settings openstack_dashboard.settings &&
        "$VENV/bin/python" -m django collectstatic --noinput -v 0 \
            --settings openstack_dashboard.settings &&
        "$VENV/bin/python" -m django compress --force --settings openstack_dashboard.settings
} >>"$log" 2>&1 || {
    echo "failed" && tail -n 30 "$log" >&2
    die "the dashboard's collectstatic/compress failed (full log: $log)"
}
printf '%s' "$spec" >"$VENV/$MARKER"
echo "done in $((SECONDS - start)) s (log: $log)"
