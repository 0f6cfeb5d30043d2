#!/usr/bin/env bash
# The GPU bench (`npm run bench -- --gpu`, and step 3 of run_device.sh): arrowshap GPU vs
# XGBoost `pred_contribs` on device="cuda" vs arrowshap CPU, on XGBoost models of 100 and 500
# trees of depth 8 over 32 features, explaining 1M rows; prints rows/s, ratios and errors
# (report.py) and leaves the JSON in --out.
#
#   bash benches/gpu/run.sh [--rows N] [--bin FILE] [--models DIR] [--python PY] [--out DIR]
#
# Without --bin it builds the `gpu_bench` example with cargo; without --models it trains the
# models with XGBoost (train.py) into benches/gpu/.carry/bin/models. The XGBoost column is
# left out (n/a) when the Python has no xgboost.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=1000000; bin=""; models="benches/gpu/.carry/bin/models"; py=""; out="benches/out/gpu"
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --python) py="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown flag $1 (flags: --rows N --bin FILE --models DIR --python PY --out DIR)" >&2; exit 2 ;;
  esac
done
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
if [ -z "$bin" ]; then
  cargo build --release --quiet -p arrowshap-core --example gpu_bench
  bin=target/release/examples/gpu_bench
fi
mkdir -p "$out"
has_xgb=0
if "$py" -c 'import xgboost' 2>/dev/null; then has_xgb=1; fi
for trees in 100 500; do
  if [ ! -f "$models/xgb_${trees}x8.ubj" ]; then
    [ "$has_xgb" = 1 ] || { echo "no model $models/xgb_${trees}x8.ubj and no xgboost to train it" >&2; exit 1; }
    "$py" benches/gpu/train.py "$models"
  fi
done
data="$out/data.f64"
echo "== data: $rows rows × 32 features =="
"$py" benches/gpu/data.py --rows "$rows" --out "$data"
for trees in 100 500; do
  c="${trees}x8"
  model="$models/xgb_${c}.ubj"
  inter=0; [ "$trees" = 100 ] && inter=2000
  echo "== $c: arrowshap (GPU, then CPU on 50,000 rows) =="
  "$bin" --model "$model" --data "$data" --cpu-rows 50000 --check-rows 10000 \
    --interaction-rows "$inter" --values-out "$out/$c.arrowshap.f64" | tee "$out/$c.arrowshap.json" || true
  if [ "$has_xgb" = 1 ]; then
    echo "== $c: XGBoost pred_contribs, device=cuda =="
    "$py" benches/gpu/xgb_peer.py --model "$model" --data "$data" --check-rows 10000 \
      --values-out "$out/$c.xgboost.f64" | tee "$out/$c.xgboost.json" || true
  else
    echo "== $c: XGBoost not installed for $py: its column is n/a =="
  fi
done
rm -f "$data"
echo "== summary =="
"$py" benches/gpu/report.py "$out"
