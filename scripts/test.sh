#!/usr/bin/env bash
# The test command: sets the machine up (idempotently), checks style, types and the layer
# contracts, runs every test suite (unit, API on SQLite and PostgreSQL, real-client
# compatibility, fuzz, real engine).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/api -k quota
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check cove tests bench scripts
.venv/bin/ruff format --check cove tests bench scripts
.venv/bin/mypy                      # types, clean ([tool.mypy] in pyproject.toml)
.venv/bin/lint-imports              # the layer contracts ([tool.importlinter])
if [ $# -eq 0 ]; then
  bash scripts/install-clients.sh
  set -- tests
fi
# --dist loadfile: each module runs on one worker, its tests in order (the e2e modules check
# in order on module-wide clusters); modules are spread over the workers. (loadgroup would
# group by xdist_group marks, but pytest-xdist 3.8 cannot mark nodeids under pytest 9.2, so
# its groups were silently split.)
exec .venv/bin/pytest -p no:cacheprovider -n 2 --dist loadfile "$@"
