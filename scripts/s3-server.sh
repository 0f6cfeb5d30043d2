#!/usr/bin/env bash
# A throwaway S3-compatible server for the tests (and for trying s3:// paths by
# hand): s3s-fs, the file-system backend of the s3s crate (Apache-2.0), built
# from crates.io once and kept in cargo's bin directory.
#
#   bash scripts/s3-server.sh install   # cargo install s3s-fs (once; later calls find it)
#   bash scripts/s3-server.sh start     # prints the endpoint URL; writes $STATE/uri, $STATE/pid
#   bash scripts/s3-server.sh uri       # prints the endpoint of the running server
#   bash scripts/s3-server.sh stop      # stops it and removes its data
#
# The server listens on 127.0.0.1 on a free port, stores buckets as folders of a
# fresh temp dir, and checks SigV4 signatures with the access key `arrowshap` /
# secret `arrowshap-secret` (export them as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
# STATE is $ARROWSHAP_S3_STATE (default `.s3` at the repository root).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="${ARROWSHAP_S3_STATE:-$root/.s3}"
version="0.14.1"  # s3s-fs 0.15+ needs a newer rustc than the toolchain here
bin_dir="${CARGO_HOME:-$HOME/.cargo}/bin"
start_timeout="${ARROWSHAP_S3_START_TIMEOUT:-60}"
export ACCESS_KEY=arrowshap SECRET_KEY=arrowshap-secret

die() { echo "s3-server.sh: $*" >&2; exit 1; }

binary() {
  if [ -n "${ARROWSHAP_S3S_FS:-}" ]; then echo "$ARROWSHAP_S3S_FS"; return; fi
  if [ -x "$bin_dir/s3s-fs" ]; then echo "$bin_dir/s3s-fs"; return; fi
  command -v s3s-fs || true
}

install() {
  local b
  b="$(binary)"
  if [ -n "$b" ] && "$b" --version 2>/dev/null | grep -q "$version"; then
    echo "s3s-fs $version: $b" >&2
    return 0
  fi
  echo "s3-server.sh: building s3s-fs $version from crates.io (once, a few minutes)" >&2
  cargo install s3s-fs --version "$version" --features binary --locked >&2
}

running() {
  [ -f "$state/pid" ] && [ -f "$state/uri" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# answers: exit 0 once the server accepts connections (any HTTP answer)
answers() {
  node -e 'fetch(process.argv[1]).then(()=>process.exit(0),()=>process.exit(1))' "$1" >/dev/null 2>&1
}

start() {
  if running && answers "$(cat "$state/uri")"; then
    cat "$state/uri"
    return 0
  fi
  local b data port uri pid t0 attempt
  b="$(binary)"
  [ -n "$b" ] || die "s3s-fs is not installed: run \`bash scripts/s3-server.sh install\`"
  rm -f "$state/uri" "$state/pid"
  mkdir -p "$state"
  data="$(mktemp -d "${TMPDIR:-/tmp}/arrowshap-s3.XXXXXX")"
  echo "$data" >"$state/data"
  mkdir -p "$data/root"
  t0=$SECONDS
  for attempt in 1 2 3; do
    port="$(free_port)"
    uri="http://127.0.0.1:$port"
    setsid "$b" --host 127.0.0.1 --port "$port" --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" "$data/root" \
      >"$data/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$state/pid"
    while kill -0 "$pid" 2>/dev/null; do
      if answers "$uri"; then
        echo "$uri" >"$state/uri"
        echo "s3s-fs at $uri (pid $pid, data $data/root, up in $((SECONDS - t0))s)" >&2
        echo "$uri"
        return 0
      fi
      if [ $((SECONDS - t0)) -ge "$start_timeout" ]; then
        stop >/dev/null 2>&1 || true
        die "s3s-fs did not answer on $uri within ${start_timeout}s"
      fi
      sleep 0.2
    done
    if ! grep -qiE 'address already in use|AddrInUse' "$data/server.log"; then break; fi
  done
  tail -n 30 "$data/server.log" >&2 || true
  rm -rf "$data"
  rm -f "$state/pid" "$state/data"
  die "s3s-fs exited before answering (log above)"
}

stop() {
  local pid data i
  if [ -f "$state/pid" ]; then
    pid="$(cat "$state/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$state/data" ]; then
    data="$(cat "$state/data")"
    case "$data" in
      "${TMPDIR:-/tmp}"/arrowshap-s3.*) rm -rf "$data" ;;
    esac
  fi
  rm -f "$state/pid" "$state/uri" "$state/data"
  rmdir "$state" 2>/dev/null || true
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  uri) running || die "no s3s-fs server running (state: $state)"; cat "$state/uri" ;;
  *) die "usage: s3-server.sh install|start|stop|uri" ;;
esac
