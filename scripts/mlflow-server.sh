#!/usr/bin/env bash
# A throwaway MLflow tracking server + model registry for the tests (and for
# trying MlflowRegistry by hand). Needs the venv: `bash scripts/setup-python.sh`.
#
#   bash scripts/mlflow-server.sh start   # prints the URI; writes $STATE/uri and $STATE/pid
#   bash scripts/mlflow-server.sh uri     # prints the URI of the running server
#   bash scripts/mlflow-server.sh stop    # stops it and removes its data
#
# The server listens on 127.0.0.1 on a free port, keeps its runs and registry in
# a sqlite file and its artifacts (`--serve-artifacts`, `mlflow-artifacts:/`) in
# a fresh temp folder; `stop` deletes that folder. STATE is
# $ARROWSHAP_MLFLOW_STATE (default `.mlflow` at the repository root): several
# servers can run side by side with different STATE dirs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="${ARROWSHAP_MLFLOW_STATE:-$root/.mlflow}"
python="$root/.venv/bin/python"
mlflow="$root/.venv/bin/mlflow"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true  # no calls home from the server
# no background job runner (huey consumers): the registry and artifact proxy do not need it
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
start_timeout="${ARROWSHAP_MLFLOW_START_TIMEOUT:-180}"

# shellcheck source=scripts/lib/test-server.sh
. "$root/scripts/lib/test-server.sh"
server_name="mlflow server"
data_prefix="arrowshap-mlflow"
in_use_pattern='address already in use|errno 98'

# answers URI: exit 0 when GET URI/health answers 200
answers() {
  "$python" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

# launch PORT DATA: the server, its runs and registry in DATA/mlflow.db, its artifacts in DATA/artifacts
launch() {
  exec setsid "$mlflow" server \
    --host 127.0.0.1 --port "$1" --workers 1 \
    --backend-store-uri "sqlite:///$2/mlflow.db" \
    --serve-artifacts --artifacts-destination "$2/artifacts" \
    --default-artifact-root mlflow-artifacts:/
}

if [ "${1:-}" = start ]; then
  [ -x "$mlflow" ] || die "no mlflow in $root/.venv: run \`bash scripts/setup-python.sh\` first"
fi
server_main "${1:-}"
