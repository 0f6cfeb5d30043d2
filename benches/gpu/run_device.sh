#!/usr/bin/env bash
# The one command a session with a GPU machine (the device tool) runs, after prepare.sh here:
#   bash benches/gpu/run_device.sh
# once per XGBoost wheel piece, carrying benches/gpu/.carry/xgbN (and, on the last call,
# benches/gpu/.carry/bin): earlier calls only stage their piece in /tmp (the machine keeps it
# while warm) and stop; the call that brings bin/ installs XGBoost (when all pieces are
# there), then runs
#   1. nvidia-smi, and the GPU tests of native/core/tests/gpu.rs (GPU vs CPU within 1e-6,
#      NVRTC build, the device choice) — the one that reads tests/fixtures is skipped: the
#      test binary looks for them at the path it was built in;
#   2. the bench (run.sh): arrowshap GPU vs XGBoost GPU vs arrowshap CPU, 1M rows,
#      100×d8 and 500×d8, 32 features.
# Logs and JSON go to $OUT (the device tool brings them back) or benches/out/gpu-device.
set -uo pipefail
cd "$(dirname "$0")/../.."
carry=benches/gpu/.carry
out="${OUT:-benches/out/gpu-device}"
mkdir -p "$out" /tmp/arrowshap-xgb
exec > >(tee -a "$out/run_device.log") 2>&1
for d in "$carry"/xgb?; do
  [ -d "$d" ] && cp "$d"/xgboost.whl.* /tmp/arrowshap-xgb/
done
want=$(cat /tmp/arrowshap-xgb/xgboost.whl.parts 2>/dev/null || echo 0)
have=$(ls /tmp/arrowshap-xgb/xgboost.whl.part* 2>/dev/null | wc -l)
echo "== XGBoost wheel pieces staged: $have of $want"
if [ ! -x "$carry/bin/gpu_bench" ]; then
  echo "== no $carry/bin in this call: staging only"
  exit 0
fi
py=python3
if ! $py -c 'import xgboost' 2>/dev/null; then
  if [ "$want" -gt 0 ] && [ "$have" = "$want" ]; then
    whl="/tmp/$(cat /tmp/arrowshap-xgb/xgboost.whl.name)"
    cat /tmp/arrowshap-xgb/xgboost.whl.part* >"$whl"
    $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$whl" &&
      export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  $py -c 'import xgboost; print("xgboost", xgboost.__version__)' || echo "== XGBoost unavailable: its column will be n/a"
fi
# NVRTC for the kernels: the CUDA toolkit's, else the one pip installed for PyTorch
nvrtc=$(ls /usr/local/cuda/lib64/libnvrtc.so* 2>/dev/null | head -n 1)
[ -n "$nvrtc" ] || nvrtc=$(find / -xdev -name 'libnvrtc.so.1[0-9]*' -not -path '*/proc/*' 2>/dev/null | head -n 1)
[ -n "$nvrtc" ] && export LD_LIBRARY_PATH="$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "== NVRTC: ${nvrtc:-not found}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
echo "== GPU tests (native/core/tests/gpu.rs) =="
"$carry/bin/gpu_tests" --test-threads 1 --nocapture --skip host_kernel_matches_the_libraries_fixtures 2>&1 |
  tee "$out/gpu_tests.log"
echo "== GPU bench =="
bash benches/gpu/run.sh --bin "$carry/bin/gpu_bench" --models "$carry/bin/models" --python "$py" --out "$out" 2>&1
rm -f "$out"/*.f64
