#!/usr/bin/env bash
# The Cloudflare Worker end to end: built with worker-build (scripts/build-worker.sh), served by
# the real workerd through `wrangler dev` at 127.0.0.1, with the real analyzer and the simulated
# upstream LLM; checks the Worker's gzip size stays under 1 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/venv.sh)
[ -x node_modules/.bin/wrangler ] || npm ci --no-audit --no-fund
bash scripts/build-worker.sh 2>/dev/null
GZ=$(cat edge-filter/build/index.js edge-filter/build/index_bg.wasm | gzip -9 | wc -c)
echo "Worker bundle (index.js + index_bg.wasm): $GZ bytes gzipped"
if [ "$GZ" -ge 1048576 ]; then echo "the Worker is over 1 MB gzipped" >&2; exit 1; fi
cargo build -q -p cloud-analyzer
MNEMOSYNE_BIN="$(pwd)/target/debug/cloud-analyzer" WRANGLER_SEND_METRICS=false \
  "$PY" -m pytest -q -p no:cacheprovider tests/worker "$@"
