#!/usr/bin/env bash
# The analyzer end to end: the official OpenAI Python client against the real binary, with the
# embedded (in-process) state and with a real Redis 8; only the upstream LLM is simulated.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/venv.sh)
cargo build -q -p cloud-analyzer
MNEMOSYNE_BIN="$(pwd)/target/debug/cloud-analyzer" "$PY" -m pytest -q -p no:cacheprovider tests/analyzer "$@"
