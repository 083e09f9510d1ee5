#!/usr/bin/env bash
# The main job: set up (Python environment, Docker engine), then `cove up`: the node image,
# cove (API and conductor on its embedded SQLite) in the background at $COVE_URL (default
# http://127.0.0.1:9511), and a healthy swarm cluster "cove" of 1 manager and 2 workers.
# Progress goes to stderr; stdout is only the client configuration line, so
#   eval "$(scripts/run.sh)" && docker node ls
# leaves the shell pointed at the cluster. Extra arguments go to `cove up` (--workers 3 ...);
# `.venv/bin/cove down` removes it all again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
bash scripts/docker-engine.sh >&2
exec .venv/bin/cove up "$@"
