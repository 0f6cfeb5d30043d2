#!/usr/bin/env bash
# Re-creates examples/registry: registers examples/models/diabetes.ubj as model
# `diabetes`, version 1, alias Champion (the registry is committed; run this after
# retraining the model with examples/train_model.py).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf examples/registry/diabetes
node bin/arrowshap.js registry register --registry examples/registry --name diabetes \
  --model examples/models/diabetes.ubj --alias Champion \
  --description "XGBoost regressor on sklearn's diabetes data (examples/train_model.py)"
