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

# shellcheck source=scripts/lib/test-server.sh
. "$root/scripts/lib/test-server.sh"
server_name="s3s-fs"
data_prefix="arrowshap-s3"
in_use_pattern='address already in use|AddrInUse'

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

# answers: exit 0 once the server accepts connections (any HTTP answer)
answers() {
  node -e 'fetch(process.argv[1]).then(()=>process.exit(0),()=>process.exit(1))' "$1" >/dev/null 2>&1
}

# launch PORT DATA: the server, buckets as folders of DATA/root
launch() {
  local b
  b="$(binary)"
  mkdir -p "$2/root"
  exec setsid "$b" --host 127.0.0.1 --port "$1" --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" "$2/root"
}

case "${1:-}" in
  install) install ;;
  start)
    [ -n "$(binary)" ] || die "s3s-fs is not installed: run \`bash scripts/s3-server.sh install\`"
    server_start
    ;;
  *) usage="install|start|stop|uri" server_main "${1:-}" ;;
esac
