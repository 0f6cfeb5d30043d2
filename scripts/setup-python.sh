#!/usr/bin/env bash
# Creates .venv with the Python peers (XGBoost, LightGBM, shap) used to make
# test fixtures and to run the benchmarks. Tests themselves do not need it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
