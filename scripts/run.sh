#!/usr/bin/env bash
# The main job: set up (Python environment, Docker engine, node image), then run cove (API
# and conductor) on its embedded SQLite database at http://127.0.0.1:9511/v1.
# Extra arguments go to `cove serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/docker-engine.sh
.venv/bin/cove image build
exec .venv/bin/cove serve "$@"
