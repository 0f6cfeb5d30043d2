#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --threads N]`: sets up the Python peers
# (a venv from PyPI), builds the native addon, then runs benches/bench.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python.sh
npm run --silent build:native >/dev/null
exec npx tsx benches/bench.ts "$@"
