#!/usr/bin/env bash
# The test command of the README (`npm test`): builds the native addon if
# needed, runs the Rust core tests and the ava specs, and ends with one line
# `N passed, N failed`. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
log_dir="$(mktemp -d)"
# The MLflow server of this run (its own state dir: a server you started by hand keeps running).
export ARROWSHAP_MLFLOW_STATE="$log_dir/mlflow"
# The S3-compatible server of this run (tests/shard/s3_processes.test.ts), with its own state dir too.
export ARROWSHAP_S3_STATE="$log_dir/s3"
cleanup() {
  bash scripts/mlflow-server.sh stop >/dev/null 2>&1 || true
  bash scripts/s3-server.sh stop >/dev/null 2>&1 || true
  rm -rf "$log_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

npm run --silent build:native >"$log_dir/build.log" 2>&1 || { cat "$log_dir/build.log"; echo "0 passed, 1 failed"; exit 1; }

echo "== cargo test (native core) =="
# NVRTC from PyPI (scripts/requirements.txt), when .venv has it: tests/gpu.rs then builds the
# CUDA kernels to PTX (no GPU needed); without it that test says it skipped.
nvrtc_lib="$(ls -d .venv/lib/python3*/site-packages/nvidia/cu13/lib 2>/dev/null | head -n 1)"
LD_LIBRARY_PATH="${nvrtc_lib:+$PWD/$nvrtc_lib:}${LD_LIBRARY_PATH:-}" \
  cargo test --profile test-release -p arrowshap-core 2>&1 | tee "$log_dir/cargo.log"
cargo_rc=${PIPESTATUS[0]}

echo "== MLflow test server (python peers + mlflow server) =="
# tests/mlflow run against it; without MLFLOW_TEST_URI they fail in CI and skip elsewhere.
t0=$SECONDS
if [ -n "${MLFLOW_TEST_URI:-}" ]; then
  echo "using the MLflow server given in MLFLOW_TEST_URI: $MLFLOW_TEST_URI"
elif bash scripts/setup-python.sh >"$log_dir/setup-python.log" 2>&1; then
  echo "setup-python: $((SECONDS - t0))s"
  t1=$SECONDS
  if uri="$(bash scripts/mlflow-server.sh start 2>"$log_dir/mlflow-server.log")"; then
    export MLFLOW_TEST_URI="$uri"
    export MLFLOW_TEST_SEED_DIR="$log_dir/mlflow-seed"
    echo "mlflow server at $uri: $((SECONDS - t1))s"
  else
    cat "$log_dir/mlflow-server.log"
    echo "mlflow server did not start: MLFLOW_TEST_URI is not set"
  fi
else
  tail -n 30 "$log_dir/setup-python.log"
  echo "setup-python.sh failed: no MLflow server, MLFLOW_TEST_URI is not set"
fi

echo "== S3-compatible server (s3s-fs, for the sharded runs over object storage) =="
# built once from crates.io into cargo's bin dir (minutes the first time, then found there)
t0=$SECONDS
if bash scripts/s3-server.sh install >"$log_dir/s3-install.log" 2>&1 && uri="$(bash scripts/s3-server.sh start 2>"$log_dir/s3-server.log")"; then
  export ARROWSHAP_S3_TEST_ENDPOINT="$uri"
  echo "s3s-fs at $uri: $((SECONDS - t0))s"
else
  tail -n 30 "$log_dir/s3-install.log" "$log_dir/s3-server.log" 2>/dev/null
  echo "no S3 server: tests/shard/s3_processes.test.ts fails in CI"
fi

echo "== headless Chromium (tests/report/browser.test.ts) =="
# installs Debian's chromium when absent (apt-get as root, else sudo); the specs fail without it
bash scripts/ensure-chromium.sh || echo "ensure-chromium.sh failed: the report browser specs will fail"

echo "== ava (TypeScript surface) =="
npx ava --tap 2>&1 | tee "$log_dir/ava.log"
ava_rc=${PIPESTATUS[0]}

cargo_pass=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log_dir/cargo.log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
cargo_fail=$(grep -Eo '[0-9]+ failed;' "$log_dir/cargo.log" | awk '{s+=$1} END {print s+0}')
ava_pass=$(grep -E '^# pass ' "$log_dir/ava.log" | awk '{s+=$3} END {print s+0}')
ava_fail=$(grep -E '^# fail ' "$log_dir/ava.log" | awk '{s+=$3} END {print s+0}')
passed=$((cargo_pass + ava_pass))
failed=$((cargo_fail + ava_fail))
# a runner that crashed before reporting still counts as a failure
if [ "$cargo_rc" -ne 0 ] && [ "$cargo_fail" -eq 0 ]; then failed=$((failed + 1)); fi
if [ "$ava_rc" -ne 0 ] && [ "$ava_fail" -eq 0 ]; then failed=$((failed + 1)); fi
echo "rust: $cargo_pass passed, $cargo_fail failed; ts: $ava_pass passed, $ava_fail failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
