#!/usr/bin/env bash
# Makes sure a headless Chromium is installed for the report specs (tests/report/browser.test.ts),
# and prints its path. Debian's `chromium` package: installed with apt-get when absent — directly
# when running as root (CI containers), through sudo otherwise. Exits non-zero with one line on
# stderr when it cannot, so a CI run fails instead of skipping the browser checks.
set -euo pipefail
find_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then echo "$CHROMIUM_PATH"; return 0; fi
  for name in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  return 1
}
if path="$(find_chromium)"; then echo "$path"; exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no chromium found and no apt-get to install it: install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo -n)
else
  echo "ensure-chromium: no chromium found; run 'apt-get install chromium' as root (no sudo here)" >&2
  exit 1
fi
echo "ensure-chromium: installing Debian's chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
path="$(find_chromium)" || { echo "ensure-chromium: apt-get installed chromium but it is not on PATH" >&2; exit 1; }
echo "$path"
