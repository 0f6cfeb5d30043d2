#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --threads N] [-- --e2e] [-- --gpu]`: sets up the Python
# peers (a venv from PyPI), builds the native addon, runs the interleaved
# comparisons (benches/bench.ts) and, with --e2e, the end-to-end job on 1M/2M
# rows (benches/e2e.ts; --quick: 100k/200k). --gpu runs only the GPU bench (benches/gpu/run.sh,
# on a machine with a CUDA GPU: arrowshap GPU vs XGBoost GPU vs arrowshap CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python.sh
npm run --silent build:native >/dev/null
args=(); e2e=0; quick=()
for a in "$@"; do
  case "$a" in
    --gpu) exec bash benches/gpu/run.sh ;;
    --e2e) e2e=1 ;;
    --quick) quick=(--quick); args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
npx tsx benches/bench.ts "${args[@]}"
if [ "$e2e" = 1 ]; then
  npm run --silent build:dist >/dev/null  # e2e runs the compiled CLI (bin/arrowshap.js)
  npx tsx benches/e2e.ts "${quick[@]}"
fi
