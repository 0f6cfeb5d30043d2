#!/usr/bin/env bash
# The test command of the README (`npm test`): builds the native addon if
# needed, runs the Rust core tests and the ava specs, and ends with one line
# `N passed, N failed`. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

npm run --silent build:native >"$log_dir/build.log" 2>&1 || { cat "$log_dir/build.log"; echo "0 passed, 1 failed"; exit 1; }

echo "== cargo test (native core) =="
cargo test --release -p arrowshap-core 2>&1 | tee "$log_dir/cargo.log"
cargo_rc=${PIPESTATUS[0]}

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
