#!/usr/bin/env bash
# Run HERE (a machine without a GPU, with the project set up) before using the device tool:
# builds what the GPU machine runs and splits XGBoost's wheel into pieces the tool can carry
# (it carries at most 64 MiB a call; the wheel is ~130 MB, the GPU machine has no XGBoost and
# no network). Everything goes to benches/gpu/.carry/ (git-ignored):
#   bin/   gpu_bench, gpu_tests (tests/gpu.rs built), models/xgb_{100,500}x8.ubj
#   xgb1/ xgb2/ xgb3/   xgboost.whl.partNN (+ xgboost.whl.name, the wheel's file name)
# Then make the device calls printed at the end (also in /work/coord/notes/i16.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=benches/gpu/.carry
mkdir -p "$carry/bin/models"
echo "== build gpu_bench and the GPU tests =="
cargo build --release --quiet -p arrowshap-core --example gpu_bench
cp target/release/examples/gpu_bench "$carry/bin/"
exe=$(cargo test --release -p arrowshap-core --test gpu --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
cp "$exe" "$carry/bin/gpu_tests"
echo "== train the models =="
bash scripts/setup-python.sh
.venv/bin/python benches/gpu/train.py "$carry/bin/models"
echo "== XGBoost wheel for the GPU machine (Python 3.12) =="
ver=$(.venv/bin/python -c 'import xgboost; print(xgboost.__version__)')
rm -rf "$carry/wheel" "$carry"/xgb?
.venv/bin/pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 -d "$carry/wheel" "xgboost==$ver"
whl=$(ls "$carry"/wheel/*.whl)
split -b 60M -d "$whl" "$carry/wheel/xgboost.whl.part"
i=1
for part in "$carry"/wheel/xgboost.whl.part*; do
  mkdir -p "$carry/xgb$i"
  mv "$part" "$carry/xgb$i/"
  basename "$whl" >"$carry/xgb$i/xgboost.whl.name"
  i=$((i + 1))
done
parts=$((i - 1))
for d in "$carry"/xgb?; do echo "$parts" >"$d/xgboost.whl.parts"; done
rm -rf "$carry/wheel"
du -sh "$carry"/* | sed 's/^/  /'
cat <<MSG
== ready. Device calls (each the same command, one after the other, while the machine is warm):
MSG
for n in $(seq 1 "$parts"); do
  extra=""; [ "$n" = "$parts" ] && extra=', "benches/gpu/.carry/bin"'
  echo "  run(command=\"bash benches/gpu/run_device.sh\", carry=[\"benches/gpu/.carry/xgb$n\"$extra], timeout_s=540)"
done
