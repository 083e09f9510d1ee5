#!/bin/sh
# cove-postgres: PostgreSQL (Debian's server packages) in cove's postgres app image.
#
# On the first start (no PG_VERSION in $PGDATA) it initialises the data directory: the
# superuser $POSTGRES_USER (default postgres) with the password in $POSTGRES_PASSWORD_FILE
# (its first line), the database $POSTGRES_DB (default: the user's name), logins over the
# network by password (scram-sha-256), over the container's own socket without one. It
# initialises a scratch directory and renames it into place at the end, so a start killed
# half-way starts over instead of finding a half-made cluster. Then it runs the server as
# user postgres, with this script's arguments (-c name=value ...).
set -eu

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
data=${PGDATA:-/var/lib/postgresql/data/pgdata}
bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -n 1)

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# A named volume is mounted owned by root; the server's socket directory is not in the image.
install -d -o postgres -g postgres -m 0700 "$(dirname "$data")"
install -d -o postgres -g postgres -m 2775 /run/postgresql

if [ ! -s "$data/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD_FILE:?must name the file that holds the superuser password}"
    scratch="$data.init"
    rm -rf "$scratch"
    as_postgres "$bin/initdb" --pgdata="$scratch" --username="$user" \
        --pwfile="$POSTGRES_PASSWORD_FILE" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8
    echo "host all all all scram-sha-256" >>"$scratch/pg_hba.conf"
    if [ "$db" != postgres ]; then
        quoted=$(printf '%s' "$db" | sed 's/"/""/g')
        printf 'CREATE DATABASE "%s"\n' "$quoted" |
            as_postgres "$bin/postgres" --single -D "$scratch" postgres >/dev/null
    fi
    mv "$scratch" "$data"
    echo "cove-postgres: initialised $data (superuser $user, database $db)" >&2
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data" "$@"
