#!/usr/bin/env bash
# Install the real OpenStack clients that tests/compat drives against a running cove, one
# virtualenv per client under <repo>/.venv-clients/:
#
#   osc        python-openstackclient + python-magnumclient 5.0.0   -> `openstack coe ...`
#   magnum411  python-magnumclient 4.11.0                           -> `magnum ...` (last legacy shell)
#   magnum37   python-magnumclient 3.7.0                            -> `magnum baymodel-*/bay-*`
#   sdk        openstacksdk                                         -> container_infrastructure_management, clustering
#   senlin     python-openstackclient 6.6.1 + python-senlinclient 3.1.0 -> `openstack cluster ...`
#   keystone   keystone 30.0.0 + pyuwsgi: the real identity service keystone mode is tested with
#
# Arguments name the venvs to install (e.g. `install-clients.sh keystone osc`); none: all.
#
# Idempotent: a venv whose marker file holds the same package spec is left alone; a venv without
# the marker (an interrupted install) or with another spec is rebuilt. The marker is written only
# after the client has been run once (--version / --help) successfully.
#
# Environment: PYTHON3 (default python3) picks the interpreter; COVE_CLIENTS_DIR overrides the
# destination. Concurrent runs (e.g. pytest-xdist workers) serialise on a lock file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${COVE_CLIENTS_DIR:-$ROOT/.venv-clients}"
PY="${PYTHON3:-python3}"
MARKER=".cove-clients-complete"

# --- what each venv holds ----------------------------------------------------------------------
OSC_SPEC=(python-openstackclient==10.5.0 python-magnumclient==5.0.0)
MAGNUM411_SPEC=(python-magnumclient==4.11.0)
# magnumclient 3.7.0 declares only lower bounds (oslo.*, keystoneauth1, osc-lib, os-client-config,
# decorator, prettytable...). Checked on Python 3.11: with today's releases it imports and runs
# every baymodel-*/bay-* command (create, list, show, update, delete) against a server, so no *old*
# pin is needed; setuptools is irrelevant (everything installs from wheels). Its direct
# dependencies are still pinned to the versions it was checked with, because it is unmaintained
# and leans on deprecated pieces (the os-client-config shim over openstacksdk, decorator-based
# @deprecated wrappers, oslo's encodeutils): a future major release of one of them could break it
# silently. Bump these only after re-running tests/compat/test_bay_commands.py.
MAGNUM37_SPEC=(python-magnumclient==3.7.0)
MAGNUM37_PINS=(
    os-client-config==2.3.0
    openstacksdk==4.22.0
    keystoneauth1==5.18.1
    osc-lib==4.7.0
    oslo.i18n==6.9.0
    oslo.log==8.3.2
    oslo.serialization==5.11.0
    oslo.utils==10.2.0
    decorator==5.3.1
    prettytable==3.18.0
    stevedore==5.10.0
    pbr==7.1.3
)
SDK_SPEC=(openstacksdk==4.22.0)
# python-senlinclient 3.1.0 (its last release) passes plain functions as column formatters;
# osc-lib 4.x accepts only cliff FormattableColumn classes ("Invalid formatter provided." on
# nearly every command), so it gets its own venv with the osc-lib it runs with. Checked:
# every `openstack cluster` command tests/compat/test_openstack_cluster.py runs.
# Keystone's own release (Flamingo) from PyPI, served by uWSGI's wheel (pyuwsgi: no compiler).
KEYSTONE_SPEC=(keystone==30.0.0 pyuwsgi==2.0.30.post1)
SENLIN_SPEC=(python-senlinclient==3.1.0 python-openstackclient==6.6.1 osc-lib==2.9.0)

die() {
    echo "install-clients: ERROR: $*" >&2
    exit 1
}

command -v "$PY" >/dev/null 2>&1 || die "no $PY on PATH (set PYTHON3)"
command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required"
mkdir -p "$DEST"
exec 9>"$DEST/.lock"
flock 9

# install NAME VERIFY-COMMAND -- PACKAGES...
#   VERIFY-COMMAND is run with the venv's bin/ first on PATH; it must exit 0.
WANTED=("$@")

install() {
    local name="$1" verify="$2"
    shift 3
    if [[ ${#WANTED[@]} -gt 0 ]] && [[ ! " ${WANTED[*]} " == *" $name "* ]]; then
        return 0
    fi
    local venv="$DEST/$name"
    local spec="$*"
    if [[ -f "$venv/$MARKER" ]] && [[ "$(cat "$venv/$MARKER")" == "$spec" ]]; then
        echo "install-clients: $name: up to date ($spec)"
        return 0
    fi
    local start=$SECONDS log="$DEST/$name.log"
    printf 'install-clients: %s: installing %s into %s ... ' "$name" "$spec" "$venv"
    rm -rf "$venv"
    {
        "$PY" -m venv "$venv" &&
            "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip &&
            "$venv/bin/python" -m pip install --disable-pip-version-check -q "$@"
    } >"$log" 2>&1 || {
        echo "failed" && tail -n 30 "$log" >&2
        die "$name: pip install of '$spec' failed (full log: $log)"
    }
    if ! PATH="$venv/bin:$PATH" bash -c "$verify" >>"$log" 2>&1; then
        echo "failed" && tail -n 30 "$log" >&2
        die "$name: installed, but '$verify' failed (full log: $log)"
    fi
    printf '%s' "$spec" >"$venv/$MARKER"
    echo "done in $((SECONDS - start)) s (log: $log)"
}

install osc 'openstack --version && openstack coe cluster list --help >/dev/null' \
    -- "${OSC_SPEC[@]}"
install magnum411 'magnum --version && magnum help cluster-template-create >/dev/null' \
    -- "${MAGNUM411_SPEC[@]}"
install magnum37 'magnum --version && magnum help baymodel-create >/dev/null' \
    -- "${MAGNUM37_SPEC[@]}" "${MAGNUM37_PINS[@]}"
install sdk 'python -c "import openstack.version, openstack.container_infrastructure_management.v1._proxy; print(openstack.version.__version__)"' \
    -- "${SDK_SPEC[@]}"
install senlin 'openstack --version && openstack cluster profile list --help >/dev/null' \
    -- "${SENLIN_SPEC[@]}"
install keystone 'keystone-manage --version && uwsgi --version' \
    -- "${KEYSTONE_SPEC[@]}"
echo "install-clients: ${WANTED[*]:-all clients} ready in $DEST"
