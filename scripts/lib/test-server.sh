# Start and stop of a throwaway local server for the tests, shared by
# scripts/mlflow-server.sh and scripts/s3-server.sh (sourced, not run).
#
# The caller sets:
#   state          folder of the server's state files (uri, pid, data)
#   server_name    what messages call it ("mlflow server", "s3s-fs")
#   data_prefix    mktemp prefix of its data folder under $TMPDIR (removed by `server_stop`)
#   start_timeout  seconds to wait for its first answer
#   in_use_pattern grep -E pattern of its log's "port already taken" line (a retry on another port)
#   usage          (optional) its commands, for the usage line
# and defines:
#   launch PORT DATA   start it in the background on 127.0.0.1:PORT, data in DATA, log to DATA/server.log
#   answers URI        exit 0 once it answers at URI

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# server_running: exit 0 when the server of $state is alive
server_running() {
  [ -f "$state/pid" ] && [ -f "$state/uri" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# server_start: prints the URI of the running server, starting one (up to 3 ports) when none answers
server_start() {
  if server_running && answers "$(cat "$state/uri")"; then
    cat "$state/uri"
    return 0
  fi
  rm -f "$state/uri" "$state/pid"
  mkdir -p "$state"
  local data port uri pid t0 attempt
  data="$(mktemp -d "${TMPDIR:-/tmp}/$data_prefix.XXXXXX")"
  echo "$data" >"$state/data"
  t0=$SECONDS
  for attempt in 1 2 3; do
    port="$(free_port)"
    uri="http://127.0.0.1:$port"
    # its own session (process group), so `server_stop` ends the server and its workers together
    launch "$port" "$data" >"$data/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$state/pid"
    while kill -0 "$pid" 2>/dev/null; do
      if answers "$uri"; then
        echo "$uri" >"$state/uri"
        echo "$server_name at $uri (pid $pid, data $data, up in $((SECONDS - t0))s)" >&2
        echo "$uri"
        return 0
      fi
      if [ $((SECONDS - t0)) -ge "$start_timeout" ]; then
        server_stop >/dev/null 2>&1 || true
        die "$server_name did not answer on $uri within ${start_timeout}s"
      fi
      sleep 0.25
    done
    # it exited: the port may have been taken in between; try another one
    if ! grep -qiE "$in_use_pattern" "$data/server.log"; then break; fi
  done
  tail -n 30 "$data/server.log" >&2 || true
  rm -rf "$data"
  rm -f "$state/pid" "$state/data"
  die "$server_name exited before answering (log above)"
}

# server_stop: ends the server's process group (TERM, then KILL after 10 s) and removes its data
server_stop() {
  local pid data i
  if [ -f "$state/pid" ]; then
    pid="$(cat "$state/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
      done
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$state/data" ]; then
    data="$(cat "$state/data")"
    case "$data" in
      "${TMPDIR:-/tmp}/$data_prefix".*) rm -rf "$data" ;;
    esac
  fi
  rm -f "$state/pid" "$state/uri" "$state/data"
  rmdir "$state" 2>/dev/null || true
}

# server_main ACTION: the start|stop|uri commands every server script offers ($usage: its own list)
server_main() {
  case "${1:-}" in
    start) server_start ;;
    stop) server_stop ;;
    uri) server_running || die "no $server_name running (state: $state)"; cat "$state/uri" ;;
    *) die "usage: $(basename "$0") ${usage:-start|stop|uri}" ;;
  esac
}
