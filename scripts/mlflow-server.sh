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

die() { echo "mlflow-server.sh: $*" >&2; exit 1; }

# healthy URI: exit 0 when GET URI/health answers 200
healthy() {
  "$python" - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

running() {
  [ -f "$state/pid" ] && [ -f "$state/uri" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null
}

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  [ -x "$mlflow" ] || die "no mlflow in $root/.venv: run \`bash scripts/setup-python.sh\` first"
  if running && healthy "$(cat "$state/uri")"; then
    cat "$state/uri"
    return 0
  fi
  rm -f "$state/uri" "$state/pid"
  mkdir -p "$state"
  local data port uri pid t0 attempt
  data="$(mktemp -d "${TMPDIR:-/tmp}/arrowshap-mlflow.XXXXXX")"
  echo "$data" >"$state/data"
  t0=$SECONDS
  for attempt in 1 2 3; do
    port="$(free_port)"
    uri="http://127.0.0.1:$port"
    # its own session (process group), so `stop` ends the server and its workers together
    setsid "$mlflow" server \
      --host 127.0.0.1 --port "$port" --workers 1 \
      --backend-store-uri "sqlite:///$data/mlflow.db" \
      --serve-artifacts --artifacts-destination "$data/artifacts" \
      --default-artifact-root mlflow-artifacts:/ \
      >"$data/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$state/pid"
    while kill -0 "$pid" 2>/dev/null; do
      if healthy "$uri"; then
        echo "$uri" >"$state/uri"
        echo "mlflow server at $uri (pid $pid, data $data, up in $((SECONDS - t0))s)" >&2
        echo "$uri"
        return 0
      fi
      if [ $((SECONDS - t0)) -ge "$start_timeout" ]; then
        stop >/dev/null 2>&1 || true
        die "mlflow server did not answer $uri/health within ${start_timeout}s"
      fi
      sleep 0.5
    done
    # it exited: the port may have been taken in between; try another one
    if ! grep -qiE 'address already in use|errno 98' "$data/server.log"; then break; fi
  done
  tail -n 30 "$data/server.log" >&2 || true
  rm -rf "$data"
  rm -f "$state/pid" "$state/data"
  die "mlflow server exited before answering (log above)"
}

stop() {
  local pid data i
  if [ -f "$state/pid" ]; then
    pid="$(cat "$state/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
      done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$state/data" ]; then
    data="$(cat "$state/data")"
    case "$data" in
      "${TMPDIR:-/tmp}"/arrowshap-mlflow.*) rm -rf "$data" ;;
    esac
  fi
  rm -f "$state/pid" "$state/uri" "$state/data"
  rmdir "$state" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  uri) running || die "no mlflow server running (state: $state)"; cat "$state/uri" ;;
  *) die "usage: mlflow-server.sh start|stop|uri" ;;
esac
